/**
 * Runs a hostcalls program (hostcalls-guest.ts) through the real host the way Envoy would
 * drive it: plugin start-up (canary + worker), one full HTTP stream with bodies and trailers,
 * the posted events (http_call responses, on_queue_ready), one tick, stream end and plugin close.
 * Results are read from the worker VM.
 */
import type { WasmPluginConfig } from "../../manager/src/sidecar/config/model.ts";
import { createPlugin, createTestEnvironment, openTestStream, type Plugin, type TestEnvironment, type TestStream } from "../../manager/src/sidecar/host/index.ts";
import { StreamInfo } from "../../manager/src/sidecar/http/stream-info.ts";
import type { WasmVm } from "../../manager/src/sidecar/host/vm.ts";
import { pluginConfig } from "./guest.ts";
import { encodeProgram, hostcallsModule, stepResult, type Step } from "./hostcalls-guest.ts";

export const REQUEST: Array<[string, string]> = [
  [":authority", "svc.local"],
  [":path", "/pkg.Svc/Call?x=1"],
  [":method", "POST"],
  [":scheme", "http"],
  ["content-type", "application/grpc"],
];
export const RESPONSE: Array<[string, string]> = [[":status", "200"], ["content-type", "application/grpc"]];

export interface Run {
  plugin: Plugin;
  env: TestEnvironment;
  vm: WasmVm;
  stream?: TestStream;
  /** [status, hits] of every step, in program order. */
  results: Array<{ status: number; hits: number }>;
}

/** A downstream connection 10.0.0.1:5000 -> 10.0.0.2:8080, as the listener would record it. */
export function streamInfo(): StreamInfo {
  const info = new StreamInfo({ wallMs: 1_704_067_200_000, monoNs: 0n });
  info.downstreamRemoteAddress = { address: "10.0.0.1", port: 5000 };
  info.downstreamLocalAddress = { address: "10.0.0.2", port: 8080 };
  info.connectionId = 7;
  return info;
}

/** Starts a hostcalls plugin with `steps` as its program (VM configuration). */
export async function startHostcalls(
  steps: readonly Step[],
  over: Partial<WasmPluginConfig> = {},
  env: TestEnvironment = createTestEnvironment(),
): Promise<{ plugin: Plugin; env: TestEnvironment; vm: () => WasmVm; results: () => Run["results"] }> {
  const plugin = await createPlugin(pluginConfig(await hostcallsModule(), { vmConfiguration: encodeProgram(steps), ...over }), env);
  const vm = () => plugin.workerVms()[0]!;
  return { plugin, env, vm, results: () => steps.map((_, i) => stepResult(vm(), i)) };
}

/** The full drive: start, one stream with bodies and trailers, events, tick, end, close. */
export async function runHostcalls(steps: readonly Step[], over: Partial<WasmPluginConfig> = {}): Promise<Run> {
  const env = createTestEnvironment();
  env.httpCalls.addCluster("upstream", () => ({ headers: [[":status", "200"], ["x-from", "upstream"]], body: new TextEncoder().encode("pong"), trailers: [] }));
  const { plugin, vm } = await startHostcalls(steps, over, env);
  const worker = vm();
  const stream = openTestStream(plugin, { streamInfo: streamInfo() });
  stream.sendRequestHeaders(REQUEST);
  stream.sendRequestBody("request-body");
  stream.sendRequestTrailers([["rq-trailer", "1"]]);
  stream.sendResponseHeaders(RESPONSE);
  stream.sendResponseBody("response-body");
  stream.sendResponseTrailers([["grpc-status", "0"], ["rt", "1"]]);
  env.clock.flushPosted();
  env.clock.advance(1000);
  stream.complete();
  await plugin.close();
  return { plugin, env, vm: worker, stream, results: steps.map((_, i) => stepResult(worker, i)) };
}
