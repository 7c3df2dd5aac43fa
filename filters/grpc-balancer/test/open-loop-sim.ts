/**
 * Open-loop unary gRPC load through grpc-balancer in the proxy-wasm host, on the host's virtual
 * clock: RPCs leave every 1/rate s whatever the earlier ones are doing (the benchmark's load,
 * test/bench/balancer), each answered OK after its endpoint's latency. An RPC goes where the
 * filter's header sends it (the session header's address, or the first override_host address);
 * one the filter left to Envoy goes to Envoy's LEAST_REQUEST with choice_count 2 over the
 * endpoints Envoy currently has healthy (two random hosts, the one with fewer RPCs in flight).
 * Exactly reproducible: the only randomness is the seeded source given.
 */
import { openTestStream, type TestStream } from "../../../manager/src/sidecar/host/index.ts";
import { StreamInfo } from "../../../manager/src/sidecar/http/stream-info.ts";
import { frame, hostOf, requested, type Loaded } from "./host-harness.ts";

export interface OpenLoopScenario {
  ratePerSec: number;
  /** Length of the run in ms of virtual time (sends stop there; the RPCs in flight then end). */
  durationMs: number;
  /** Endpoints Envoy's own balancer may pick at `atMs` (its healthy hosts). */
  envoyHosts: (atMs: number) => readonly string[];
  /** Latency of an RPC on `address` sent at `atMs`, given a uniform [0, 1) draw. */
  latencyMs: (address: string, atMs: number, u: number) => number;
  /** Uniform [0, 1). */
  random: () => number;
  /** Called before each event at its time (e.g. to change what discovery answers). */
  onTime?: (atMs: number) => void;
  cluster?: string;
}

/** One RPC: when it was sent (ms from the start), which endpoint served it, whether the filter chose it. */
export interface SentRpc {
  atMs: number;
  address: string;
  directed: boolean;
}

interface Open {
  stream: TestStream;
  address: string;
  dueMs: number;
}

/** Runs the scenario from virtual time 0 (the host clock advances with it); returns every RPC. */
export function runOpenLoop(l: Loaded, s: OpenLoopScenario): SentRpc[] {
  const sent: SentRpc[] = [];
  const open: Open[] = [];
  const inFlight = new Map<string, number>();
  const intervalMs = 1000 / s.ratePerSec;
  let nowMs = 0;
  const advanceTo = (t: number) => {
    if (t > nowMs) {
      l.env.clock.advance(t - nowMs);
      nowMs = t;
    }
    s.onTime?.(nowMs);
  };
  const leastRequest = (hosts: readonly string[]): string => {
    const a = hosts[Math.floor(s.random() * hosts.length)]!;
    const b = hosts[Math.floor(s.random() * hosts.length)]!;
    return (inFlight.get(b) ?? 0) < (inFlight.get(a) ?? 0) ? b : a;
  };
  const send = () => {
    const info = new StreamInfo({ wallNs: 1_700_000_000_000_000_000n, monoNs: 0n });
    info.clusterName = s.cluster ?? "backend";
    const stream = openTestStream(l.plugin, { streamInfo: info });
    stream.sendRequestHeaders([
      [":method", "POST"],
      [":scheme", "http"],
      [":path", "/meshbench.Work/Light"],
      [":authority", "backend"],
      ["content-type", "application/grpc"],
      ["te", "trailers"],
    ]);
    stream.sendRequestBody(frame(3), true);
    const steered = requested(l, stream.upstream.headers?.get(l.header));
    const address = steered ?? leastRequest(s.envoyHosts(nowMs));
    inFlight.set(address, (inFlight.get(address) ?? 0) + 1);
    info.upstreamHost = hostOf(address);
    open.push({ stream, address, dueMs: nowMs + s.latencyMs(address, nowMs, s.random()) });
    sent.push({ atMs: nowMs, address, directed: steered !== undefined });
  };
  const finish = (o: Open) => {
    inFlight.set(o.address, inFlight.get(o.address)! - 1);
    o.stream.sendResponseHeaders([[":status", "200"], ["content-type", "application/grpc"]], false);
    o.stream.sendResponseBody(frame(4), false);
    o.stream.sendResponseTrailers([["grpc-status", "0"]]);
    o.stream.complete();
  };
  for (let k = 0; ; k++) {
    const sendAt = k * intervalMs;
    const sending = sendAt < s.durationMs;
    open.sort((a, b) => a.dueMs - b.dueMs);
    while (open.length > 0 && (!sending || open[0]!.dueMs <= sendAt)) {
      const o = open.shift()!;
      advanceTo(o.dueMs);
      finish(o);
    }
    if (!sending) break;
    advanceTo(sendAt);
    send();
  }
  return sent;
}

/** Share of the RPCs sent in [fromMs, toMs) that `address` served, as a fraction of 1/`endpoints`. */
export function shareOfFair(rpcs: readonly SentRpc[], address: string, fromMs: number, toMs: number, endpoints: number): number {
  let all = 0;
  let mine = 0;
  for (const r of rpcs) {
    if (r.atMs < fromMs || r.atMs >= toMs) continue;
    all++;
    if (r.address === address) mine++;
  }
  return all === 0 ? 0 : (mine / all) * endpoints;
}
