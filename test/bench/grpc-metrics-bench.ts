/**
 * grpc-metrics in the proxy-wasm host: ns per unary gRPC RPC and per message of a 100-message
 * server stream, in one run with no filter (a pass-through StreamFilter: the driver's own cost),
 * the noop filter (the SDK's own cost), grpc-metrics with its default configuration, grpc-metrics
 * with `side` fixed and the filter state off (two property calls fewer), and the same counting
 * written against the Go proxy-wasm SDK (peers/go-grpc-metrics, when it could be built).
 *
 * A unary RPC: request headers, one 12-byte message (end of stream), response headers, one
 * message, trailers, then log / done / delete. A 100-message stream: the same with 100 response
 * messages, one per body chunk (one DATA frame each, as Envoy's codec hands them over). Rounds
 * alternate between the cases after a common warm-up; the result is the median of the rounds'
 * CPU time per RPC (process.cpuUsage: robust to a busy machine, where wall time is not).
 *
 * Run alone (the grpc-metrics section of `npm run bench`, same cases and rounds, nothing written):
 *   tsx test/bench/grpc-metrics-bench.ts [--quick] [--go] [--build DIR]
 * after `meshwasm build grpc-metrics noop`; `--go` also builds and measures the Go SDK peer.
 */
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { PassThroughFilter, type StreamFilter } from "../../manager/src/sidecar/http/filter.ts";
import { createPlugin, createTestEnvironment, TestStream, testPluginConfig, type Plugin } from "../../manager/src/sidecar/host/index.ts";

export interface GrpcHostCase {
  name: string;
  /** ns per unary RPC. */
  unaryNs: number;
  /** ns per 100-message stream. */
  streamNs: number;
  /** Host calls per unary RPC (undefined for no filter). */
  hostCalls?: number;
  /** Module size in bytes. */
  size?: number;
}

const REQUEST: Array<[string, string]> = [
  [":method", "POST"],
  [":path", "/meshwasm.demo.v1.Echo/Unary"],
  [":authority", "echo.default.svc"],
  [":scheme", "http"],
  ["content-type", "application/grpc"],
  ["te", "trailers"],
  ["grpc-timeout", "1S"],
  ["user-agent", "grpc-node-js/1.14"],
];
const RESPONSE: Array<[string, string]> = [
  [":status", "200"],
  ["content-type", "application/grpc"],
];
const MESSAGE = new Uint8Array([0, 0, 0, 0, 7, 10, 5, 104, 101, 108, 108, 111]);
export const STREAM_MESSAGES = 100;

function rpc(filter: StreamFilter, responses: number): void {
  const s = new TestStream(filter, {});
  s.sendRequestHeaders(REQUEST, false);
  s.sendRequestBody(MESSAGE, true);
  s.sendResponseHeaders(RESPONSE, false);
  for (let i = 0; i < responses; i++) s.sendResponseBody(MESSAGE, false);
  s.sendResponseTrailers([["grpc-status", "0"]]);
  s.complete();
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** Median ns per call of `run` for each maker, rounds alternating. */
function measure(makers: Array<() => StreamFilter>, responses: number, perRound: number, rounds: number): number[] {
  // Warm-up: enough calls for V8 to optimize the host's and the driver's hot paths for each case.
  const warm = Math.max(perRound, Math.ceil(5000 / responses));
  for (const make of makers) for (let i = 0; i < warm; i++) rpc(make(), responses);
  const samples = makers.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) {
    makers.forEach((make, i) => {
      // CPU time of this process (every thread, GC helpers included): waiting for a core on a
      // busy machine does not count, unlike wall time.
      const start = process.cpuUsage();
      for (let n = 0; n < perRound; n++) rpc(make(), responses);
      const used = process.cpuUsage(start);
      samples[i]!.push(((used.user + used.system) * 1000) / perRound);
    });
  }
  return samples.map(median);
}

export interface GrpcHostBenchOptions {
  /** Unary RPCs per round per case. */
  unaryPerRound: number;
  /** 100-message streams per round per case. */
  streamsPerRound: number;
  rounds: number;
  /** The Go SDK peer's module, when it was built. */
  goPeer?: Uint8Array;
}

export async function runGrpcHostBench(buildDir: string, opts: GrpcHostBenchOptions): Promise<GrpcHostCase[]> {
  const modules: Array<{ name: string; code: Uint8Array; configuration: string }> = [];
  const file = async (name: string) => new Uint8Array(await readFile(join(buildDir, "filters", `${name}.wasm`)));
  modules.push({ name: "noop", code: await file("noop"), configuration: "" });
  const metrics = await file("grpc-metrics");
  modules.push({ name: "grpc-metrics", code: metrics, configuration: "{}" });
  modules.push({ name: "grpc-metrics (side: server, filter_state: false)", code: metrics, configuration: '{"side":"server","filter_state":false}' });
  if (opts.goPeer) modules.push({ name: "Go SDK peer", code: opts.goPeer, configuration: "" });

  const plugins: Plugin[] = [];
  try {
    for (const m of modules) {
      const env = createTestEnvironment();
      // Go's runtime refuses a monotonic clock that reads 0 (the virtual clock's start).
      env.clock.advance(1);
      plugins.push(
        await createPlugin(
          // On an INBOUND listener, as the sidecar creates it (the plugin carries the direction).
          testPluginConfig(m.code, { name: m.name, rootId: "", vmId: "", configuration: new TextEncoder().encode(m.configuration), listenerDirection: 1 }),
          env,
        ),
      );
    }
    const makers: Array<() => StreamFilter> = [() => new PassThroughFilter(), ...plugins.map((p) => () => p.createFilter())];
    const unary = measure(makers, 1, opts.unaryPerRound, opts.rounds);
    const stream = measure(makers, STREAM_MESSAGES, opts.streamsPerRound, opts.rounds);
    const hostCalls = plugins.map((p) => {
      const count = () => p.workerVms().reduce((n, vm) => n + vm.hostCalls, 0);
      const before = count();
      rpc(p.createFilter(), 1);
      return count() - before;
    });
    return [
      { name: "none", unaryNs: unary[0]!, streamNs: stream[0]! },
      ...modules.map((m, i) => ({ name: m.name, unaryNs: unary[i + 1]!, streamNs: stream[i + 1]!, hostCalls: hostCalls[i]!, size: m.code.length })),
    ];
  } finally {
    for (const p of plugins) await p.close();
  }
}

/** ns per extra message of a case: (stream - unary) / (STREAM_MESSAGES - 1). */
export function perExtraMessage(c: GrpcHostCase): number {
  return (c.streamNs - c.unaryNs) / (STREAM_MESSAGES - 1);
}

/** Options of `npm run bench` for this section (`quick`: the --quick run). */
export function grpcHostBenchOptions(quick: boolean): Omit<GrpcHostBenchOptions, "goPeer"> {
  return { unaryPerRound: quick ? 500 : 2000, streamsPerRound: quick ? 20 : 60, rounds: quick ? 3 : 9 };
}

async function runAlone(argv: string[]): Promise<void> {
  const { REPO_ROOT } = await import("../../manager/src/build/compile.ts");
  const at = argv.indexOf("--build");
  const buildDir = at >= 0 && argv[at + 1] ? resolve(argv[at + 1]!) : join(REPO_ROOT, "build");
  let goPeer: Uint8Array | undefined;
  if (argv.includes("--go")) {
    const { buildGoPeer } = await import("./go-peer.ts");
    const built = await buildGoPeer();
    if ("error" in built) process.stdout.write(`Go SDK peer: not measured: ${built.error}\n`);
    else goPeer = built.wasm;
  }
  const cases = await runGrpcHostBench(buildDir, { ...grpcHostBenchOptions(argv.includes("--quick")), goPeer });
  const noop = cases.find((c) => c.name === "noop")!;
  const n = (x: number) => Math.round(x).toLocaleString("en-US");
  const rows = cases.map((c) =>
    [c.name, n(c.unaryNs), c.hostCalls === undefined ? "" : n(c.unaryNs - noop.unaryNs), n(perExtraMessage(c)),
      c.hostCalls === undefined ? "" : n(perExtraMessage(c) - perExtraMessage(noop)), String(c.hostCalls ?? ""), c.size === undefined ? "" : n(c.size)].join(" | "),
  );
  process.stdout.write(["filter | ns per unary RPC | added ns | ns per extra message | added ns | host calls per RPC | module bytes", ...rows].join("\n") + "\n");
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) await runAlone(process.argv.slice(2));
