import { beforeAll, describe, expect, it } from "vitest";
import { compileAssemblyScript } from "../../../../manager/src/build/index.ts";
import { configureRoot, runStream, startMiniHost } from "./mini-host.ts";

let wasm: Uint8Array;
beforeAll(async () => {
  wasm = await compileAssemblyScript("filters/examples/add-header/assembly/index.ts", { target: "add-header" });
});

async function configured(config: string, logLevel = 1) {
  const host = await startMiniHost(wasm, config, logLevel);
  return { host, ok: configureRoot(host, config) };
}

describe("add-header configuration", () => {
  const accepted = [
    { name: "JSON, both headers", config: '{"request_header_name":"X-Req","request_header_value":"a","response_header_name":"x-served-by","response_header_value":"meshwasm"}', req: [["x-req", "a"]], resp: [["x-served-by", "meshwasm"]] },
    { name: "JSON with escapes and spaces", config: ' { "response_header_name" : "x-q", "response_header_value" : "say \\"hi\\" \\u00e9" } ', req: [], resp: [["x-q", 'say "hi" é']] },
    { name: "key=value with ';' and comments", config: "# example\nresponse_header_name = x-served-by ; response_header_value=meshwasm\n", req: [], resp: [["x-served-by", "meshwasm"]] },
    { name: "request header only, empty value", config: "request_header_name=x-flag\nrequest_header_value=", req: [["x-flag", ""]], resp: [] },
  ];
  for (const c of accepted) {
    it(`accepts ${c.name}`, async () => {
      const { host, ok } = await configured(c.config);
      expect(ok).toBe(true);
      expect(runStream(host, 2)).toEqual([0, 0]);
      expect(host.headers.get(0) ?? []).toEqual(c.req);
      expect(host.headers.get(2) ?? []).toEqual(c.resp);
    });
  }

  const rejected = [
    { name: "empty configuration", config: "" },
    { name: "unknown key", config: "response_header_name=x-a;response_header_value=b;colour=red" },
    { name: "name without value", config: "response_header_name=x-a" },
    { name: "value without name", config: '{"request_header_value":"v"}' },
    { name: "pseudo-header name", config: "request_header_name=:path;request_header_value=/x" },
    { name: "space in header name", config: "request_header_name=x a;request_header_value=v" },
    { name: "newline in value", config: '{"request_header_name":"x-a","request_header_value":"a\\nb"}' },
    { name: "non-string JSON value", config: '{"request_header_name":"x-a","request_header_value":1}' },
    { name: "duplicate key", config: "request_header_name=x-a;request_header_name=x-b;request_header_value=v" },
    { name: "malformed JSON", config: '{"request_header_name":"x-a",' },
    { name: "trailing garbage after JSON", config: '{"request_header_name":"x-a","request_header_value":"v"} x' },
    { name: "line without '='", config: "request_header_name x-a" },
  ];
  for (const c of rejected) {
    it(`rejects ${c.name}`, async () => {
      const { host, ok } = await configured(c.config);
      expect(ok).toBe(false);
      expect(host.logs.some((l) => l.level === 4 && l.message.startsWith("add-header: invalid configuration: "))).toBe(true);
    });
  }
});

describe("add-header traffic", () => {
  const config = "request_header_name=x-req;request_header_value=1;response_header_name=x-resp;response_header_value=2";

  it("counts every request in example_requests_total and logs at debug only when enabled", async () => {
    const { host, ok } = await configured(config, 1);
    expect(ok).toBe(true);
    for (let id = 2; id < 12; id++) runStream(host, id);
    expect(host.counters.get("example_requests_total")).toBe(10n);
    expect(host.logs.filter((l) => l.level === 1 && l.message === "add-header: added request header x-req")).toHaveLength(10);

    const quiet = await configured(config, 2);
    runStream(quiet.host, 2);
    expect(quiet.host.logs.filter((l) => l.message.startsWith("add-header: added"))).toHaveLength(0);
    expect(quiet.host.counters.get("example_requests_total")).toBe(1n);
  });

  it("keeps memory flat over many streams (the SDK collects garbage between callbacks)", async () => {
    const { host } = await configured(config);
    let id = 2;
    for (; id < 500; id++) runStream(host, id);
    const warm = host.memoryBytes();
    for (; id < 5000; id++) runStream(host, id);
    expect(host.memoryBytes()).toBe(warm);
    expect(host.counters.get("example_requests_total")).toBe(4998n);
  });

  it("continues streams it has no context for (unknown ids never trap)", async () => {
    const { host } = await configured(config);
    expect(host.exports.proxy_on_request_headers!(99, 1, 1)).toBe(0);
    expect(host.exports.proxy_on_request_body!(99, 1, 1)).toBe(0);
    host.exports.proxy_on_delete!(99);
    expect(host.headers.size).toBe(0);
  });
});
