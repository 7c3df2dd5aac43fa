/**
 * Closed-loop lanes of unary gRPC RPCs through grpc-balancer in the proxy-wasm host, on the
 * host's virtual clock: the end-to-end test's load (`lanes` calls at a time, each lane starting
 * its next RPC when the last one ends) without a real event loop, so that a run is exactly
 * reproducible and a stall happens only when the scenario asks for one.
 *
 * Each RPC goes where the filter's header sends it (the session header's address, or the first
 * override_host address); an RPC the filter left to Envoy goes to Envoy's LEAST_REQUEST with
 * choice_count 2 (two random hosts, the one with fewer RPCs in flight). A failing address
 * answers trailers-only UNAVAILABLE after 0.3 ms; a healthy one answers OK after its latency.
 * A stall holds every RPC in flight until it ends (what an event loop stopped for that long does
 * to the RPCs it is timing).
 */
import { openTestStream, type TestStream } from "../../../manager/src/sidecar/host/index.ts";
import { StreamInfo } from "../../../manager/src/sidecar/http/stream-info.ts";
import { frame, hostOf, requested, type Loaded } from "../../../filters/grpc-balancer/test/host-harness.ts";

export interface LaneScenario {
  /** Every address of the cluster. */
  addresses: string[];
  lanes: number;
  /** RPCs in this phase. */
  rpcs: number;
  /** Latency of a successful RPC on `address`, in ms. */
  latencyMs: (address: string) => number;
  failing: ReadonlySet<string>;
  /** After this many RPCs of the phase have ended, every RPC in flight waits `stallMs` more. */
  stall?: { afterRpcs: number; stallMs: number };
  /** Uniform [0, 1) for Envoy's fallback choice. */
  random: () => number;
  path?: string;
  cluster?: string;
}

/** Where the phase's RPCs ended, in order; the clock ends at the last RPC's end. */
export interface LaneState {
  /** Virtual time in ms since the simulation started (the host clock is advanced to it). */
  nowMs: number;
  /** RPCs in flight per address, as Envoy's LEAST_REQUEST counts them. */
  inFlight: Map<string, number>;
}

interface InFlight {
  stream: TestStream;
  address: string;
  dueMs: number;
}

/** Runs one phase; returns the address that served each RPC, in the order they ended. */
export function runLanes(l: Loaded, s: LaneScenario, state: LaneState): string[] {
  const open: InFlight[] = [];
  const served: string[] = [];
  const leastRequest = (): string => {
    const a = s.addresses[Math.floor(s.random() * s.addresses.length)]!;
    const b = s.addresses[Math.floor(s.random() * s.addresses.length)]!;
    return (state.inFlight.get(a) ?? 0) <= (state.inFlight.get(b) ?? 0) ? a : b;
  };
  const startRpc = (): void => {
    const info = new StreamInfo({ wallNs: 1_700_000_000_000_000_000n, monoNs: 0n });
    info.clusterName = s.cluster ?? "backend";
    const stream = openTestStream(l.plugin, { streamInfo: info });
    stream.sendRequestHeaders([
      [":method", "POST"],
      [":scheme", "http"],
      [":path", s.path ?? "/meshbench.Work/Light"],
      [":authority", "backend"],
      ["content-type", "application/grpc"],
      ["te", "trailers"],
    ]);
    stream.sendRequestBody(frame(3), true);
    const address = requested(l, stream.upstream.headers?.get(l.header)) ?? leastRequest();
    state.inFlight.set(address, (state.inFlight.get(address) ?? 0) + 1);
    info.upstreamHost = hostOf(address);
    open.push({ stream, address, dueMs: state.nowMs + (s.failing.has(address) ? 0.3 : s.latencyMs(address)) });
  };
  let started = 0;
  for (; started < Math.min(s.lanes, s.rpcs); started++) startRpc();
  let stalled = false;
  while (open.length > 0) {
    if (s.stall && !stalled && served.length >= s.stall.afterRpcs) {
      stalled = true;
      const until = state.nowMs + s.stall.stallMs;
      for (const o of open) o.dueMs = Math.max(o.dueMs, until);
    }
    open.sort((a, b) => a.dueMs - b.dueMs);
    const next = open.shift()!;
    if (next.dueMs > state.nowMs) {
      l.env.clock.advance(next.dueMs - state.nowMs);
      state.nowMs = next.dueMs;
    }
    state.inFlight.set(next.address, state.inFlight.get(next.address)! - 1);
    if (s.failing.has(next.address)) {
      next.stream.sendResponseHeaders([[":status", "200"], ["content-type", "application/grpc"], ["grpc-status", "14"]], true);
    } else {
      next.stream.sendResponseHeaders([[":status", "200"], ["content-type", "application/grpc"]], false);
      next.stream.sendResponseBody(frame(4), false);
      next.stream.sendResponseTrailers([["grpc-status", "0"]]);
    }
    next.stream.complete();
    served.push(next.address);
    if (started < s.rpcs) {
      started++;
      startRpc();
    }
  }
  return served;
}

/** A seeded uniform [0, 1) source (a 31-bit linear congruential generator). */
export function seededRandom(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => (x = (Math.imul(x, 1103515245) + 12345) & 0x7fffffff) / 0x80000000;
}
