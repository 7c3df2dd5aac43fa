/**
 * Host benchmark: the cost of one HTTP stream (request headers + body + trailers, response
 * headers + body + trailers, then log/done/delete) driven through the proxy-wasm host's test
 * stream, with no filter (a pass-through StreamFilter, the driver's own cost), the noop filter
 * and the add-header example filter. Reports ns per stream and host calls per stream.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { PassThroughFilter, type StreamFilter } from "../../manager/src/sidecar/http/filter.ts";
import { createPlugin, createTestEnvironment, TestStream, testPluginConfig, type Plugin } from "../../manager/src/sidecar/host/index.ts";
import type { WasmPluginConfig } from "../../manager/src/sidecar/config/model.ts";

export interface HostBenchRow {
  filter: string;
  nsPerStream: number;
  hostCallsPerStream: number;
}

const REQUEST_HEADERS: Array<[string, string]> = [
  [":method", "POST"],
  [":path", "/meshwasm.demo.v1.Echo/Unary"],
  [":authority", "echo.default.svc"],
  [":scheme", "http"],
  ["content-type", "application/grpc"],
  ["te", "trailers"],
  ["grpc-timeout", "1S"],
  ["user-agent", "grpc-node-js/1.14"],
];
const RESPONSE_HEADERS: Array<[string, string]> = [
  [":status", "200"],
  ["content-type", "application/grpc"],
];
const BODY = new Uint8Array([0, 0, 0, 0, 7, 10, 5, 104, 101, 108, 108, 111]);

function runStream(filter: StreamFilter): void {
  const s = new TestStream(filter, {});
  s.sendRequestHeaders(REQUEST_HEADERS, false);
  s.sendRequestBody(BODY, true);
  s.sendResponseHeaders(RESPONSE_HEADERS, false);
  s.sendResponseBody(BODY, false);
  s.sendResponseTrailers([["grpc-status", "0"]]);
  s.complete();
}

/** ns per stream for each case, rounds alternating between the cases after a common warm-up. */
function measureAll(makers: Array<() => StreamFilter>, streams: number, rounds = 5): number[] {
  for (const make of makers) for (let i = 0; i < 2000; i++) runStream(make());
  const totals = makers.map(() => 0);
  const perRound = Math.ceil(streams / rounds);
  for (let r = 0; r < rounds; r++) {
    makers.forEach((make, i) => {
      const start = process.hrtime.bigint();
      for (let n = 0; n < perRound; n++) runStream(make());
      totals[i]! += Number(process.hrtime.bigint() - start);
    });
  }
  return totals.map((t) => t / (perRound * rounds));
}

function pluginConfig(name: string, code: Uint8Array, configuration: string): WasmPluginConfig {
  return testPluginConfig(code, {
    name,
    rootId: name,
    vmId: "",
    codeSource: `${name}.wasm`,
    configuration: new TextEncoder().encode(configuration),
  });
}

export async function runHostBench(buildDir: string, streams: number): Promise<HostBenchRow[]> {
  const cases: Array<{ name: string; configuration: string }> = [
    { name: "noop", configuration: "" },
    {
      name: "add-header",
      configuration: "request_header_name=x-bench\nrequest_header_value=1\nresponse_header_name=x-bench\nresponse_header_value=1",
    },
  ];
  const plugins: Plugin[] = [];
  try {
    for (const c of cases) {
      const code = new Uint8Array(await readFile(join(buildDir, "filters", `${c.name}.wasm`)));
      plugins.push(await createPlugin(pluginConfig(c.name, code, c.configuration), createTestEnvironment()));
    }
    const ns = measureAll([() => new PassThroughFilter(), ...plugins.map((p) => () => p.createFilter())], streams);
    const hostCallsPerStream = plugins.map((plugin) => {
      const hostCalls = () => plugin.workerVms().reduce((n, vm) => n + vm.hostCalls, 0);
      const before = hostCalls();
      runStream(plugin.createFilter());
      return hostCalls() - before;
    });
    return [
      { filter: "none", nsPerStream: ns[0]!, hostCallsPerStream: 0 },
      ...cases.map((c, i) => ({ filter: c.name, nsPerStream: ns[i + 1]!, hostCallsPerStream: hostCallsPerStream[i]! })),
    ];
  } finally {
    for (const p of plugins) await p.close();
  }
}
