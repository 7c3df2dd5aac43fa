/**
 * The `env` imports of ABI 0.2.0 / 0.2.1 (spec "Functions implemented in the host";
 * proxy-wasm-cpp-host `src/exports.cc`; Envoy `extensions/common/wasm/context.cc`) and the WASI
 * subset, registered under both `wasi_snapshot_preview1` and `wasi_unstable`.
 *
 * Contract:
 * - Every import first checks the VM phase (restricted callbacks trap the VM), then acts on the
 *   VM's effective context (the calling context, or the one set by proxy_set_effective_context).
 * - A guest pointer outside memory returns InvalidMemoryAccess (6); it never crashes the host.
 * - `proxy_get_log_level` is linked only for ABI 0.2.1. `proxy_increment_metric` and
 *   `proxy_record_metric` are linked through the metric adapter (i64-adapter.ts: counter and
 *   gauge increments summed in Wasm, anything else reaches JavaScript as two 32-bit halves, no
 *   BigInt); with `adaptI64: false` they receive it as a BigInt.
 * - Header maps: keys lower-cased; get returns the first value (missing -> NotFound); replace is
 *   Envoy's setCopy; size is byteSize() of a writable map; an unavailable map -> BadArgument
 *   (pairs -> empty map; in on_log a get on a missing map -> NotFound); maps 6/7 are read-only.
 * - Buffers: type > 8 -> BadArgument, no buffer -> NotFound (context.ts getBuffer); get clamps to
 *   the end; set on a read-only buffer -> BadArgument, else only start=0 (drain `size` then
 *   prepend) and start >= length (append); anything else -> BadArgument.
 * - http_call and gRPC calls are made by the root context (context.ts, grpc-calls.ts): a gRPC
 *   upstream is a serialized GrpcService or a cluster name (unknown -> ParseFailure); a token of
 *   the wrong kind -> BadArgument, an unknown one -> NotFound.
 */
import { BufferType, LogLevel, MapType, WasmResult } from "./abi.ts";
import type { BufferRef, Context } from "./context.ts";
import { callForeignFunction } from "./foreign.ts";
import { formatLogLine } from "./log.ts";
import { InvalidMemoryAccessError } from "./memory.ts";
import { decodePairs } from "./pairs.ts";
import { getPropertyAt, setPropertyAt, type PropertyScope } from "./properties.ts";
import type { BodyBuffer } from "../http/body-buffer.ts";
import { defaultSharedState } from "./shared-state.ts";
import type { WasmVm } from "./vm.ts";
import { createWasiImports } from "./wasi.ts";
import { adaptI64Imports, joinSigned, joinUnsigned } from "./i64-adapter.ts";
import { FastMetricTable } from "./metric-fast-table.ts";

type Fn = (...args: any[]) => any;

const WHITESPACE = /[ \t\f\v\n\r]/g;

/**
 * Builds the import object for `vm` (env + both WASI namespaces). `adaptI64` (default) links the
 * metric imports through the i64 adapter; the VM links again without it when the guest declares
 * them with another signature.
 */
export function buildImports(vm: WasmVm, { adaptI64 = true }: { adaptI64?: boolean } = {}): WebAssembly.Imports {
  const env: Record<string, Fn> = {};
  for (const [name, fn] of Object.entries(envFunctions(vm))) env[name] = guarded(vm, name, fn);
  if (vm.loaded.abiVersion !== "0.2.1") delete env["proxy_get_log_level"];
  const table = adaptI64 ? new FastMetricTable() : undefined;
  vm.metrics.useFastTable(table);
  if (table) {
    const adapted = adaptI64Imports({
      increment: guarded(vm, "proxy_increment_metric", (id: number, lo: number, hi: number) =>
        vm.metrics.increment(id >>> 0, joinSigned(lo, hi))),
      record: guarded(vm, "proxy_record_metric", (id: number, lo: number, hi: number) =>
        vm.metrics.record(id >>> 0, joinUnsigned(lo, hi))),
    }, table);
    env["proxy_increment_metric"] = adapted.proxy_increment_metric as Fn;
    env["proxy_record_metric"] = adapted.proxy_record_metric as Fn;
  }

  const wasiRaw = createWasiImports({
    memory: () => vm.exportedMemory(),
    env: vm.options.environmentVariables,
    log: (level, msg) => log(vm, vm.effectiveContext(), level, msg),
    clock: vm.env.clock,
    checkAllowed: (name) => vm.checkAllowed(name, true),
  });
  const wasi: Record<string, Fn> = {};
  for (const [name, fn] of Object.entries(wasiRaw)) {
    wasi[name] = (...args: unknown[]) => {
      vm.jsHostCalls++;
      vm.checkAllowed(name, true);
      return fn(...args);
    };
  }
  return { env, wasi_snapshot_preview1: wasi, wasi_unstable: wasi };
}

/**
 * An env import as the guest calls it: counts the call, checks the VM phase (restricted
 * callbacks trap), and turns an out-of-bounds guest pointer into InvalidMemoryAccess. The wrapper
 * declares exactly the import's parameters (`fn.length`), so V8 calls it, and inlines `fn`, without
 * an arguments array or an arity adaptation on every host call.
 */
function guarded(vm: WasmVm, name: string, fn: Fn): Fn {
  const enter = (): void => {
    vm.jsHostCalls++;
    if (vm.phase !== "running") vm.checkAllowed(name, false);
  };
  const failed = (e: unknown): number => {
    if (e instanceof InvalidMemoryAccessError) return WasmResult.InvalidMemoryAccess;
    throw e;
  };
  type A = any;
  switch (fn.length) {
    case 0: return () => { enter(); try { return fn(); } catch (e) { return failed(e); } };
    case 1: return (a: A) => { enter(); try { return fn(a); } catch (e) { return failed(e); } };
    case 2: return (a: A, b: A) => { enter(); try { return fn(a, b); } catch (e) { return failed(e); } };
    case 3: return (a: A, b: A, c: A) => { enter(); try { return fn(a, b, c); } catch (e) { return failed(e); } };
    case 4: return (a: A, b: A, c: A, d: A) => { enter(); try { return fn(a, b, c, d); } catch (e) { return failed(e); } };
    case 5: return (a: A, b: A, c: A, d: A, e5: A) => { enter(); try { return fn(a, b, c, d, e5); } catch (e) { return failed(e); } };
    default:
      return (...args: unknown[]) => { enter(); try { return fn(...args); } catch (e) { return failed(e); } };
  }
}

function log(vm: WasmVm, ctx: Context | undefined, level: number, msg: string): void {
  if (level >= LogLevel.Error) vm.lastErrorLog = msg;
  const threshold = vm.env.logLevel ?? LogLevel.Info;
  if (level < threshold) return;
  const parts = ctx ? ctx.logParts() : { vmId: vm.vmId, isStream: false };
  vm.env.logger.log(level as LogLevel, formatLogLine(msg, parts));
}

/**
 * The property scope of `ctx`: made once per root for the root and once for all its streams
 * (everything but the stream is the root's), with the calling context's stream set on each call.
 */
function propertyScope(vm: WasmVm, ctx: Context): PropertyScope {
  const root = ctx.root;
  const isRoot = ctx.isRoot;
  let scope = isRoot ? root.rootScope : root.streamScope;
  if (scope === undefined) {
    const p = root.identity;
    scope = {
      stream: undefined,
      plugin: { name: p.name, rootId: p.rootId, vmId: p.vmId },
      node: vm.env.node,
      listenerDirection: p.listenerDirection,
      isRootContext: isRoot,
      clock: vm.env.clock,
      declaredProperties: root.declaredProperties,
    };
    if (isRoot) root.rootScope = scope;
    else root.streamScope = scope;
  }
  scope.stream = ctx.streamInfo();
  return scope;
}

const EMPTY = new Uint8Array(0);
const NO_PAIRS: ReadonlyArray<readonly [string, string]> = [];

/**
 * Envoy/cpp-host getBuffer for a read: a type above FOREIGN_FUNCTION_ARGS or no effective
 * context -> BadArgument, no buffer -> NotFound (the status is returned as a number).
 */
function bufferOf(vm: WasmVm, type: number): BodyBuffer | WasmResult {
  if (type >>> 0 > BufferType.ForeignFunctionArgs) return WasmResult.BadArgument;
  const ctx = vm.effectiveContext();
  if (!ctx) return WasmResult.BadArgument;
  return ctx.getBufferForRead(type) ?? WasmResult.NotFound;
}

/** `bufferOf` for an operation that needs to know whether the buffer is mutable. */
function bufferRefOp(vm: WasmVm, type: number, fn: (ref: BufferRef) => number): number {
  if (type >>> 0 > BufferType.ForeignFunctionArgs) return WasmResult.BadArgument;
  const ctx = vm.effectiveContext();
  if (!ctx) return WasmResult.BadArgument;
  const ref = ctx.getBuffer(type);
  return ref ? fn(ref) : WasmResult.NotFound;
}

function envFunctions(vm: WasmVm): Record<string, Fn> {
  const mem = vm.memory;
  const shared = () => vm.env.shared ?? defaultSharedState;
  const str = (ptr: number, len: number) => mem.readString(ptr, len);
  /** Runs `fn` with the effective context, or returns BadArgument when there is none. */
  const withCtx = (fn: (ctx: Context) => number) => {
    const ctx = vm.effectiveContext();
    return ctx ? fn(ctx) : WasmResult.BadArgument;
  };
  const mapOp = (type: number, fn: (ctx: Context) => number) =>
    type > MapType.HttpCallResponseTrailers ? WasmResult.BadArgument : withCtx(fn);
  const mutated = (ctx: Context, type: number) => {
    if (type === MapType.RequestHeaders) ctx.clearRouteCache();
  };

  return {
    proxy_log: (level: number, ptr: number, len: number) => {
      if (level < 0 || level > LogLevel.Critical) return WasmResult.BadArgument;
      log(vm, vm.effectiveContext(), level, str(ptr, len));
      return WasmResult.Ok;
    },
    proxy_get_log_level: (ptr: number) => {
      mem.writeU32(ptr, vm.env.logLevel ?? LogLevel.Info);
      return WasmResult.Ok;
    },
    proxy_get_current_time_nanoseconds: (ptr: number) => {
      mem.writeU64(ptr, vm.env.clock.nowWallNs());
      return WasmResult.Ok;
    },
    proxy_set_tick_period_milliseconds: (ms: number) => withCtx((ctx) => ctx.root.setTickPeriod(ms)),

    // ===== properties (hot: written without per-call closures) =====
    proxy_get_property: (pp: number, pl: number, vpp: number, vlp: number) => {
      const ctx = vm.effectiveContext();
      if (!ctx) return WasmResult.BadArgument;
      const r = getPropertyAt(mem.readKey(pp, pl), propertyScope(vm, ctx));
      if (r.result !== WasmResult.Ok) return r.result;
      mem.writeOut(r.value ?? EMPTY, vpp, vlp);
      return WasmResult.Ok;
    },
    proxy_set_property: (pp: number, pl: number, vp: number, vl: number) => {
      const ctx = vm.effectiveContext();
      if (!ctx) return WasmResult.BadArgument;
      const path = mem.readKey(pp, pl);
      return setPropertyAt(path, mem.read(vp, vl), propertyScope(vm, ctx), true);
    },

    // ===== buffers =====
    proxy_get_buffer_bytes: (type: number, start: number, max: number, dpp: number, dlp: number) => {
      const buf = bufferOf(vm, type);
      if (typeof buf === "number") return buf;
      const from = start >>> 0;
      const size = max >>> 0;
      // The whole buffer (the usual read of a chunk): its bytes without an intermediate copy.
      mem.writeOut(from === 0 && size >= buf.length ? buf.toUint8Array() : buf.slice(from, size), dpp, dlp);
      return WasmResult.Ok;
    },
    proxy_get_buffer_status: (type: number, lp: number, fp: number) => {
      const buf = bufferOf(vm, type);
      if (typeof buf === "number") return buf;
      mem.writeU32(lp, buf.length);
      mem.writeU32(fp, 0);
      return WasmResult.Ok;
    },
    proxy_set_buffer_bytes: (type: number, start: number, size: number, dp: number, dl: number) =>
      bufferRefOp(vm, type, ({ buffer: buf, mutable }) => {
        // Envoy: string buffers (configuration, http_call body) and absent bodies are read-only.
        if (!mutable) return WasmResult.BadArgument;
        const data = mem.read(dp, dl);
        const s = start >>> 0;
        if (s === 0) {
          if (size >>> 0 !== 0) buf.drain(size >>> 0);
          buf.prepend(data);
        } else if (s >= buf.length) {
          buf.append(data);
        } else {
          return WasmResult.BadArgument;
        }
        return WasmResult.Ok;
      }),

    // ===== header maps =====
    proxy_get_header_map_pairs: (type: number, dpp: number, dlp: number) =>
      mapOp(type, (ctx) => {
        const map = ctx.getHeaderMap(type);
        // The entries themselves (no copy): nothing changes the map while they are written.
        mem.writeOutPairs(map ? map.view() : NO_PAIRS, dpp, dlp);
        return WasmResult.Ok;
      }),
    proxy_set_header_map_pairs: (type: number, dp: number, dl: number) =>
      mapOp(type, (ctx) => {
        const map = ctx.getHeaderMap(type, true);
        if (!map) return WasmResult.BadArgument;
        map.replaceAll(decodePairs(mem.read(dp, dl)));
        mutated(ctx, type);
        return WasmResult.Ok;
      }),
    proxy_get_header_map_size: (type: number, sp: number) =>
      mapOp(type, (ctx) => {
        const map = ctx.getHeaderMap(type, true); // Envoy's getMap, not getConstMap
        if (!map) return WasmResult.BadArgument;
        mem.writeU32(sp, map.byteSize());
        return WasmResult.Ok;
      }),
    proxy_get_header_map_value: (type: number, kp: number, kl: number, vpp: number, vlp: number) => {
      if (type > MapType.HttpCallResponseTrailers) return WasmResult.BadArgument;
      const ctx = vm.effectiveContext();
      if (!ctx) return WasmResult.BadArgument;
      const map = ctx.getHeaderMap(type);
      // In the access-log phase a missing map is NotFound (Envoy getHeaderMapValue).
      if (!map) return ctx.accessLogPhase ? WasmResult.NotFound : WasmResult.BadArgument;
      const value = map.get(mem.readKey(kp, kl));
      if (value === undefined) return WasmResult.NotFound;
      mem.writeOutString(value, vpp, vlp);
      return WasmResult.Ok;
    },
    proxy_add_header_map_value: (type: number, kp: number, kl: number, vp: number, vl: number) =>
      mapOp(type, (ctx) => {
        const map = ctx.getHeaderMap(type, true);
        if (!map) return WasmResult.BadArgument;
        map.add(str(kp, kl), str(vp, vl));
        mutated(ctx, type);
        return WasmResult.Ok;
      }),
    proxy_replace_header_map_value: (type: number, kp: number, kl: number, vp: number, vl: number) =>
      mapOp(type, (ctx) => {
        const map = ctx.getHeaderMap(type, true);
        if (!map) return WasmResult.BadArgument;
        map.setCopy(str(kp, kl), str(vp, vl));
        mutated(ctx, type);
        return WasmResult.Ok;
      }),
    proxy_remove_header_map_value: (type: number, kp: number, kl: number) =>
      mapOp(type, (ctx) => {
        const map = ctx.getHeaderMap(type, true);
        if (!map) return WasmResult.BadArgument;
        map.remove(str(kp, kl));
        mutated(ctx, type);
        return WasmResult.Ok;
      }),

    // ===== stream control =====
    proxy_continue_stream: (type: number) => withCtx((ctx) => ctx.continueStream(type)),
    proxy_close_stream: (type: number) => withCtx((ctx) => ctx.closeStream(type)),
    proxy_get_status: (cp: number, mpp: number, mlp: number) =>
      withCtx((ctx) => {
        const { code, message } = ctx.root.status;
        mem.writeU32(cp, code);
        mem.writeOutString(message, mpp, mlp);
        return WasmResult.Ok;
      }),
    proxy_send_local_response: (
      status: number, dp: number, dl: number, bp: number, bl: number, hp: number, hl: number, grpc: number,
    ) =>
      withCtx((ctx) =>
        ctx.sendLocalResponse({
          status: status >>> 0,
          details: str(dp, dl).replace(WHITESPACE, "_"),
          body: mem.read(bp, bl),
          headers: decodePairs(mem.read(hp, hl)).map(([k, v]) => [k.toLowerCase(), v] as [string, string]),
          grpcStatus: grpc >= 0 && grpc <= 16 ? grpc : undefined,
        }),
      ),

    // ===== callouts =====
    proxy_http_call: (
      up: number, ul: number, hp: number, hl: number, bp: number, bl: number, tp: number, tl: number,
      timeout: number, tokenPtr: number,
    ) =>
      withCtx((ctx) => {
        // Envoy Context::httpCall: a negative timeout is BadArgument, before anything else.
        if ((timeout | 0) < 0) return WasmResult.BadArgument;
        mem.writeU32(tokenPtr, 0); // validates the out-param before dispatching
        const r = ctx.root.httpCall(
          str(up, ul), decodePairs(mem.read(hp, hl)), mem.read(bp, bl), decodePairs(mem.read(tp, tl)), timeout >>> 0,
        );
        if (r.result === WasmResult.Ok) mem.writeU32(tokenPtr, r.token!);
        return r.result;
      }),
    proxy_grpc_call: (
      up: number, ul: number, sp: number, sl: number, mp: number, ml: number, dp: number, dl: number,
      msgp: number, msgl: number, timeout: number, tokenPtr: number,
    ) =>
      withCtx((ctx) => {
        mem.writeU32(tokenPtr, 0); // validates the out-param before dispatching
        const r = ctx.root.grpc.start("call", {
          upstream: mem.read(up, ul), service: str(sp, sl), method: str(mp, ml),
          metadata: decodePairs(mem.read(dp, dl)), message: mem.read(msgp, msgl), timeoutMs: timeout >>> 0,
        });
        if (r.result === WasmResult.Ok) mem.writeU32(tokenPtr, r.token!);
        return r.result;
      }),
    proxy_grpc_stream: (
      up: number, ul: number, sp: number, sl: number, mp: number, ml: number, dp: number, dl: number, tokenPtr: number,
    ) =>
      withCtx((ctx) => {
        mem.writeU32(tokenPtr, 0);
        const r = ctx.root.grpc.start("stream", {
          upstream: mem.read(up, ul), service: str(sp, sl), method: str(mp, ml),
          metadata: decodePairs(mem.read(dp, dl)), timeoutMs: 0,
        });
        if (r.result === WasmResult.Ok) mem.writeU32(tokenPtr, r.token!);
        return r.result;
      }),
    proxy_grpc_send: (token: number, mp: number, ml: number, end: number) =>
      withCtx((ctx) => ctx.root.grpc.send(token >>> 0, mem.read(mp, ml), end !== 0)),
    proxy_grpc_cancel: (token: number) => withCtx((ctx) => ctx.root.grpc.cancel(token >>> 0)),
    proxy_grpc_close: (token: number) => withCtx((ctx) => ctx.root.grpc.close(token >>> 0)),

    // ===== shared data and queues =====
    proxy_set_shared_data: (kp: number, kl: number, vp: number, vl: number, cas: number) =>
      shared().data.set(vm.vmId, str(kp, kl), mem.read(vp, vl), cas >>> 0),
    proxy_get_shared_data: (kp: number, kl: number, vpp: number, vlp: number, casPtr: number) => {
      const r = shared().data.get(vm.vmId, str(kp, kl));
      if (r.result !== WasmResult.Ok) return r.result;
      mem.writeU32(casPtr, r.cas ?? 0);
      mem.writeOut(r.value ?? new Uint8Array(0), vpp, vlp);
      return WasmResult.Ok;
    },
    proxy_register_shared_queue: (np: number, nl: number, idPtr: number) =>
      withCtx((ctx) => {
        const root = ctx.root;
        mem.writeU32(idPtr, 0);
        const id = shared().queues.register(
          vm.vmId,
          str(np, nl),
          (queueId) => {
            if (!root.deleted) vm.call(root, "proxy_on_queue_ready", root.id, queueId);
          },
          (cb) => vm.env.clock.post(cb),
        );
        mem.writeU32(idPtr, id);
        return WasmResult.Ok;
      }),
    proxy_resolve_shared_queue: (vp: number, vl: number, np: number, nl: number, idPtr: number) => {
      const vmId = str(vp, vl) || vm.vmId;
      const id = shared().queues.resolve(vmId, str(np, nl));
      if (id === undefined) return WasmResult.NotFound;
      mem.writeU32(idPtr, id);
      return WasmResult.Ok;
    },
    proxy_enqueue_shared_queue: (id: number, vp: number, vl: number) => shared().queues.enqueue(id >>> 0, mem.read(vp, vl)),
    proxy_dequeue_shared_queue: (id: number, vpp: number, vlp: number) => {
      const r = shared().queues.dequeue(id >>> 0);
      if (r.result !== WasmResult.Ok) return r.result;
      mem.writeOut(r.value ?? new Uint8Array(0), vpp, vlp);
      return WasmResult.Ok;
    },

    // ===== metrics =====
    proxy_define_metric: (type: number, np: number, nl: number, idPtr: number) => {
      const r = vm.metrics.define(type >>> 0, str(np, nl));
      if (r.result === WasmResult.Ok) mem.writeU32(idPtr, r.id!);
      return r.result;
    },
    proxy_increment_metric: (id: number, delta: bigint) =>
      vm.metrics.increment(id >>> 0, typeof delta === "bigint" ? delta : BigInt(delta)),
    proxy_record_metric: (id: number, value: bigint) =>
      vm.metrics.record(id >>> 0, typeof value === "bigint" ? value : BigInt(value)),
    proxy_get_metric: (id: number, vp: number) => {
      const r = vm.metrics.get(id >>> 0);
      if (r.result === WasmResult.Ok) mem.writeU64(vp, r.value ?? 0n);
      return r.result;
    },

    // ===== contexts =====
    proxy_set_effective_context: (id: number) =>
      vm.setEffectiveContext(id >>> 0) ? WasmResult.Ok : WasmResult.BadArgument,
    // Envoy WasmBase::done(context): only the root waiting for it (a stream context -> NotFound).
    proxy_done: () => withCtx((ctx) => (ctx.isRoot ? ctx.root.done() : WasmResult.NotFound)),
    proxy_call_foreign_function: (np: number, nl: number, ap: number, al: number, rpp: number, rlp: number) =>
      withCtx((ctx) => {
        const r = callForeignFunction(str(np, nl), mem.read(ap, al), {
          stream: ctx.streamInfo(),
          clearRouteCache: () => ctx.clearRouteCache(),
          declaredProperties: ctx.root.declaredProperties,
        });
        if (r.result !== WasmResult.Ok) return r.result;
        mem.writeOut(r.value ?? new Uint8Array(0), rpp, rlp);
        return WasmResult.Ok;
      }),

    // ===== emscripten / pthread stubs linked by cpp-host =====
    emscripten_notify_memory_growth: (_index: number) => undefined,
    pthread_equal: (a: number, b: number) => (a === b ? 1 : 0),
  };
}
