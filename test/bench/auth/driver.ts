/**
 * Drives unary gRPC RPCs through proxy-wasm plugins in the host, in process, for the grpc-auth
 * benchmark — the method of grpc-metrics-bench.ts: one RPC is request headers, one 12-byte message
 * (end of stream), response headers, one message, trailers, then log / done / delete; each RPC
 * gets a fresh StreamInfo (the connection's TLS facts are shared, as on one HTTP/2 connection).
 * Each case is measured twice per round, through the noop filter and through grpc-auth, with the
 * same requests; rounds alternate between all of them after a warm-up, and a case's figure is the
 * median over the rounds of the CPU time per RPC (process.cpuUsage: robust on a busy machine).
 */
import { PassThroughFilter, type StreamFilter } from "../../../manager/src/sidecar/http/filter.ts";
import { StreamInfo } from "../../../manager/src/sidecar/http/stream-info.ts";
import { TestStream } from "../../../manager/src/sidecar/host/index.ts";
import type { SslConnectionInfo } from "../../../manager/src/sidecar/tls/connection-info.ts";

/** One request: its :path, extra headers, and the TLS connection it arrives on (if any). */
export interface BenchRequest {
  path: string;
  metadata: Array<[string, string]>;
  ssl?: SslConnectionInfo;
}

const RESPONSE: Array<[string, string]> = [
  [":status", "200"],
  ["content-type", "application/grpc"],
];
const MESSAGE = new Uint8Array([0, 0, 0, 0, 7, 10, 5, 104, 101, 108, 108, 111]);

/** Runs one unary RPC; returns true when the filter let the request through. */
export function unaryRpc(filter: StreamFilter, req: BenchRequest, wallNs: bigint): boolean {
  const info = new StreamInfo({ wallNs, monoNs: 0n });
  info.downstreamRemoteAddress = { address: "10.1.2.3", port: 40000 };
  if (req.ssl) info.downstreamSsl = req.ssl;
  const s = new TestStream(filter, { streamInfo: info });
  s.sendRequestHeaders([
    [":method", "POST"],
    [":scheme", req.ssl ? "https" : "http"],
    [":path", req.path],
    [":authority", "bench.default.svc"],
    ["content-type", "application/grpc"],
    ["te", "trailers"],
    ["grpc-timeout", "1S"],
    ["user-agent", "grpc-node-js/1.14"],
    ...req.metadata,
  ], false);
  const allowed = s.localReply === undefined;
  if (allowed) {
    s.sendRequestBody(MESSAGE, true);
    s.sendResponseHeaders(RESPONSE, false);
    s.sendResponseBody(MESSAGE, false);
    s.sendResponseTrailers([["grpc-status", "0"]]);
  }
  s.complete();
  return allowed;
}

/** A benchmark case: the requests (request(i) for the i-th RPC of this case) and the filters. */
export interface DrivenCase {
  /** RPCs per round. */
  perRound: number;
  /** The i-th request (i counts every RPC of the case, warm-up included, per filter). */
  request(i: number): BenchRequest;
  /** The filters to compare, measured with the same requests. */
  makers: Array<() => StreamFilter>;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

export interface MeasureOptions {
  rounds: number;
  /** Warm-up rounds (every case and filter, untimed) before the timed ones. */
  warmupRounds: number;
  wallNs: bigint;
}

export interface Measured {
  /** Median ns per RPC: ns[case][filter]. */
  ns: number[][];
  /** RPCs run (warm-up included) and how many the filter let through: [case][filter]. */
  rpcs: number[][];
  allowed: number[][];
}

/** Runs every case through every one of its filters, rounds alternating; see the module comment. */
export function measureCases(cases: DrivenCase[], opts: MeasureOptions): Measured {
  const rpcs = cases.map((c) => c.makers.map(() => 0));
  const allowed = cases.map((c) => c.makers.map(() => 0));
  const batch = (ci: number, mi: number): void => {
    const c = cases[ci]!;
    const make = c.makers[mi]!;
    let ok = 0;
    let i = rpcs[ci]![mi]!;
    for (let k = 0; k < c.perRound; k++) if (unaryRpc(make(), c.request(i++), opts.wallNs)) ok++;
    rpcs[ci]![mi] = i;
    allowed[ci]![mi]! += ok;
  };
  for (let w = 0; w < opts.warmupRounds; w++) cases.forEach((c, ci) => c.makers.forEach((_, mi) => batch(ci, mi)));
  const samples = cases.map((c) => c.makers.map(() => [] as number[]));
  for (let r = 0; r < opts.rounds; r++) {
    cases.forEach((c, ci) => {
      c.makers.forEach((_, mi) => {
        // CPU time of this process: waiting for a core on a busy machine does not count.
        const start = process.cpuUsage();
        batch(ci, mi);
        const used = process.cpuUsage(start);
        samples[ci]![mi]!.push(((used.user + used.system) * 1000) / c.perRound);
      });
    });
  }
  return { ns: samples.map((perMaker) => perMaker.map(median)), rpcs, allowed };
}

/** The driver's own cost: a pass-through filter (no Wasm). */
export const passThrough = (): StreamFilter => new PassThroughFilter();
