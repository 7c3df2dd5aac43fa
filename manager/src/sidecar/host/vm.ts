/**
 * One instance of a proxy-wasm module (proxy-wasm-cpp-host `WasmBase`): linking, start-up,
 * guest calls, restricted callbacks and trap handling.
 *
 * Contract:
 * - `WasmVm.create` links every env + WASI import (an import the host does not provide fails
 *   with "missing import: <module>.<name>"), instantiates, and runs start-up: `_initialize` then
 *   `main(0,0)` or `__main_void` if exported, else `_start`. During start-up only proxy_log, WASI
 *   and emscripten_notify_memory_growth may be called; during the allocator only proxy_log,
 *   fd_write, clock_time_get and poll_oneoff. Anything else traps the VM ("restricted_callback").
 *   A trap during start-up throws `ModuleLoadError`.
 * - `call(ctx, export, ...args)`: any exception out of the guest marks the VM failed
 *   (Envoy FailState::RuntimeError); every later call returns undefined without entering the
 *   guest. The effective context is the calling context, changed by proxy_set_effective_context
 *   for the rest of that call only. Actions deferred with `afterCall` (continue_stream,
 *   send_local_response, close_stream, proxy_done) run when the outermost call returns.
 * - Guest memory is capped at 1 GiB (checked after every outermost call).
 */
import { LogLevel } from "./abi.ts";
import type { HostEnvironment } from "./api.ts";
import type { Context, PluginIdentity } from "./context.ts";
import { RootContext } from "./context.ts";
import { buildImports } from "./imports.ts";
import { GuestMemory } from "./memory.ts";
import { MetricsRegistry } from "./metrics.ts";
import { ModuleLoadError, type LoadedModule } from "./module.ts";

/** Envoy's Wasm memory limit. */
export const MAX_GUEST_MEMORY_BYTES = 1024 * 1024 * 1024;

export class RestrictedCallbackError extends Error {
  override readonly name = "RestrictedCallbackError";
  constructor(fn: string, phase: string) {
    super(`restricted_callback: ${fn} may not be called during ${phase}`);
  }
}

export type VmPhase = "startup" | "allocator" | "running";

const STARTUP_ALLOWED = new Set(["proxy_log", "emscripten_notify_memory_growth"]);
const ALLOCATOR_ALLOWED = new Set(["proxy_log", "fd_write", "clock_time_get", "poll_oneoff"]);

export interface VmOptions {
  env: HostEnvironment;
  vmId: string;
  environmentVariables: Record<string, string>;
  /** Names the module in messages (config codeSource). */
  source: string;
}

/**
 * The VM's contexts by id, keeping the effective context (the one host calls act on) resolved:
 * `effective` is always `get(effectiveId)`, updated when either changes, so a host call reads a
 * field instead of looking the id up.
 */
export class ContextTable extends Map<number, Context> {
  /** The effective context's id (0: the VM itself, no context). */
  effectiveId = 0;
  effective: Context | undefined = undefined;

  setEffective(id: number): void {
    this.effectiveId = id;
    this.effective = super.get(id);
  }

  override set(id: number, ctx: Context): this {
    super.set(id, ctx);
    if (id === this.effectiveId) this.effective = ctx;
    return this;
  }

  override delete(id: number): boolean {
    const removed = super.delete(id);
    if (id === this.effectiveId) this.effective = undefined;
    return removed;
  }

  override clear(): void {
    super.clear();
    this.effective = undefined;
  }
}

export class WasmVm {
  readonly contexts = new ContextTable();
  readonly memory: GuestMemory;
  readonly metrics: MetricsRegistry;
  failed = false;
  failure?: Error;
  #phase: VmPhase = "startup";
  /** Host calls that reached JavaScript (env and WASI imports). */
  jsHostCalls = 0;
  /** The last message the guest logged at error level or above (quoted in load errors). */
  lastErrorLog?: string;
  private instance!: WebAssembly.Instance;
  /** The instance's exports by name (null: not a function), resolved once each. */
  private readonly exportFns = new Map<string, Function | null>();
  private memoryExport?: WebAssembly.Memory;
  /** The memory buffer the last cap check saw (detached once the memory grows). */
  private checkedBuffer?: ArrayBuffer;
  private allocatorExport?: (size: number) => number;
  private nextId = 1;
  private httpCallSeq = 1;
  private grpcCallSeq = 1;
  private grpcStreamSeq = 1;
  private depth = 0;
  private afterActions: Array<() => void> = [];
  private failListeners: Array<(err: Error) => void> = [];

  private constructor(
    readonly loaded: LoadedModule,
    readonly options: VmOptions,
  ) {
    this.memory = new GuestMemory(() => this.exportedMemory(), (size) => this.allocate(size));
    this.metrics = new MetricsRegistry(options.env.stats);
  }

  /** The VM's phase; the metric adapter's Wasm path is open only while "running". */
  get phase(): VmPhase {
    return this.#phase;
  }

  set phase(phase: VmPhase) {
    this.#phase = phase;
    this.metrics.setFastPath(phase === "running");
  }

  /** Host calls the guest made (env and WASI imports, metric updates answered in Wasm included), for benchmarks. */
  get hostCalls(): number {
    return this.jsHostCalls + this.metrics.fastUpdates();
  }

  get env(): HostEnvironment {
    return this.options.env;
  }

  get vmId(): string {
    return this.options.vmId;
  }

  /** Links, instantiates and starts a VM; throws ModuleLoadError on any failure. */
  static create(loaded: LoadedModule, options: VmOptions): WasmVm {
    const vm = new WasmVm(loaded, options);
    const imports = buildImports(vm);
    for (const imp of loaded.imports) {
      const ns = imports[imp.module] as Record<string, unknown> | undefined;
      if (!ns || !(imp.name in ns)) {
        throw new ModuleLoadError(`missing import: ${imp.module}.${imp.name} is not provided by the host`);
      }
    }
    try {
      vm.instance = vm.instantiate(imports);
    } catch (e) {
      throw new ModuleLoadError(`instantiation failed: ${(e as Error).message}`, { cause: e });
    }
    if (!(vm.instance.exports["memory"] instanceof WebAssembly.Memory)) {
      throw new ModuleLoadError("the module does not export its memory");
    }
    vm.start();
    return vm;
  }

  /**
   * Instantiates with `imports`; a LinkError (a metric import declared with another signature
   * than the ABI's, which the i64 adapter's Wasm functions cannot satisfy) retries with the
   * plain JavaScript imports.
   */
  private instantiate(imports: WebAssembly.Imports): WebAssembly.Instance {
    try {
      return new WebAssembly.Instance(this.loaded.module, imports);
    } catch (e) {
      if (!(e instanceof WebAssembly.LinkError)) throw e;
      return new WebAssembly.Instance(this.loaded.module, buildImports(this, { adaptI64: false }));
    }
  }

  private start(): void {
    const ex = this.instance.exports;
    const run = (name: string, ...args: number[]) => {
      const fn = ex[name];
      if (typeof fn !== "function") return;
      try {
        (fn as (...a: number[]) => unknown)(...args);
      } catch (e) {
        this.failed = true;
        this.failure = e as Error;
        throw new ModuleLoadError(`trap during start-up in ${name}: ${(e as Error).message}`, { cause: e });
      }
    };
    this.phase = "startup";
    if (typeof ex["_initialize"] === "function") {
      run("_initialize");
      if (typeof ex["main"] === "function") run("main", 0, 0);
      else run("__main_void");
    } else {
      run("_start");
    }
    this.phase = "running";
    this.checkMemoryCap();
    if (this.failed) throw new ModuleLoadError(`start-up failed: ${this.failure?.message}`);
  }

  /** The guest's exported memory (looked up once: an instance's exports never change). */
  exportedMemory(): WebAssembly.Memory {
    return (this.memoryExport ??= this.instance.exports["memory"] as WebAssembly.Memory);
  }

  /** The instance's exports (for tests and diagnostics). */
  instanceExports(): WebAssembly.Exports {
    return this.instance.exports;
  }

  hasExport(name: string): boolean {
    return this.exportFn(name) !== null;
  }

  /** The exported function `name`, or null (looked up once: an instance's exports never change). */
  private exportFn(name: string): Function | null {
    let fn = this.exportFns.get(name);
    if (fn === undefined) {
      const e = this.instance.exports[name];
      fn = typeof e === "function" ? e : null;
      this.exportFns.set(name, fn);
    }
    return fn;
  }

  /** Throws RestrictedCallbackError if `fn` may not be called now (the throw traps the guest). */
  checkAllowed(fn: string, isWasi: boolean): void {
    if (this.phase === "running") return;
    if (this.phase === "startup" && !isWasi && !STARTUP_ALLOWED.has(fn)) {
      throw new RestrictedCallbackError(fn, "start-up");
    }
    if (this.phase === "allocator" && !ALLOCATOR_ALLOWED.has(fn)) {
      throw new RestrictedCallbackError(fn, "memory allocation");
    }
  }

  /** Calls the guest allocator (malloc preferred); host calls are restricted meanwhile. */
  allocate(size: number): number {
    const fn = (this.allocatorExport ??= this.instance.exports[this.loaded.allocator] as (n: number) => number);
    const prev = this.phase;
    this.phase = "allocator";
    try {
      return fn(size) >>> 0;
    } finally {
      this.phase = prev;
    }
  }

  // ===== contexts =====

  createRootContext(identity: PluginIdentity): RootContext {
    const root = new RootContext(this, this.nextId++, identity);
    this.contexts.set(root.id, root);
    return root;
  }

  nextContextId(): number {
    return this.nextId++;
  }

  nextHttpCallToken(): number {
    return this.httpCallSeq++ * 4;
  }

  nextGrpcCallToken(): number {
    return this.grpcCallSeq++ * 4 + 1;
  }

  nextGrpcStreamToken(): number {
    return this.grpcStreamSeq++ * 4 + 2;
  }

  /** The context host calls act on now (the calling one unless set_effective_context changed it). */
  effectiveContext(): Context | undefined {
    return this.contexts.effective;
  }

  setEffectiveContext(id: number): boolean {
    if (!this.contexts.has(id)) return false;
    this.contexts.setEffective(id);
    return true;
  }

  // ===== calls =====

  /**
   * Calls an export for `ctx`. Returns undefined when the export is missing, the VM has failed,
   * or the call trapped (which fails the VM).
   */
  call(ctx: Context | null, name: string, ...args: number[]): number | undefined {
    if (this.failed) return undefined;
    const fn = this.exportFn(name);
    if (fn === null) return undefined;
    const prevEffective = this.contexts.effectiveId;
    this.contexts.setEffective(ctx?.id ?? 0);
    this.depth++;
    let result: unknown;
    try {
      result = fn.apply(undefined, args);
    } catch (e) {
      this.fail(`${name} failed: ${(e as Error)?.message ?? String(e)}`, e);
      result = undefined;
    } finally {
      this.depth--;
      this.contexts.setEffective(prevEffective);
    }
    return this.returned(result);
  }

  /**
   * `call` with exactly three arguments (the stream callbacks' hot path: no rest array). An
   * export declaring fewer parameters ignores the extra ones, as it does when called from `call`.
   */
  call3(ctx: Context, name: string, a: number, b: number, c: number): number | undefined {
    if (this.failed) return undefined;
    const fn = this.exportFn(name);
    if (fn === null) return undefined;
    const prevEffective = this.contexts.effectiveId;
    this.contexts.setEffective(ctx.id);
    this.depth++;
    let result: unknown;
    try {
      result = (fn as (a: number, b: number, c: number) => unknown)(a, b, c);
    } catch (e) {
      this.fail(`${name} failed: ${(e as Error)?.message ?? String(e)}`, e);
      result = undefined;
    } finally {
      this.depth--;
      this.contexts.setEffective(prevEffective);
    }
    return this.returned(result);
  }

  /** After a guest call: the outermost one checks the memory cap and runs deferred actions. */
  private returned(result: unknown): number | undefined {
    if (this.depth === 0) {
      this.checkMemoryCap();
      if (this.afterActions.length > 0) this.runAfterActions();
    }
    if (result === undefined || this.failed) return undefined;
    return typeof result === "bigint" ? Number(result) : (result as number);
  }

  /** Defers `action` until the outermost VM call returns (immediately if none is running). */
  afterCall(action: () => void): void {
    if (this.depth === 0) action();
    else this.afterActions.push(action);
  }

  private runAfterActions(): void {
    while (this.afterActions.length > 0) {
      const actions = this.afterActions;
      this.afterActions = [];
      for (const a of actions) a();
    }
  }

  private checkMemoryCap(): void {
    if (this.failed) return;
    // A non-shared memory detaches its old buffer when it grows: a buffer already checked and
    // still attached means the size has not changed since (no native `buffer` read per call).
    const seen = this.checkedBuffer;
    if (seen !== undefined && seen.byteLength !== 0) return;
    const buffer = this.exportedMemory().buffer;
    this.checkedBuffer = buffer instanceof ArrayBuffer ? buffer : undefined;
    if (buffer.byteLength > MAX_GUEST_MEMORY_BYTES) {
      this.fail("guest memory above the 1 GiB limit", undefined);
    }
  }

  /** Marks the VM failed (RuntimeError); later calls are skipped. */
  fail(message: string, cause: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.failure = new Error(message, { cause });
    this.afterActions = [];
    this.env.logger.log(LogLevel.Critical, `wasm vm ${this.vmId || "(default)"} (${this.options.source}): ${message}`);
    for (const l of this.failListeners) l(this.failure);
  }

  onFail(listener: (err: Error) => void): void {
    this.failListeners.push(listener);
  }
}
