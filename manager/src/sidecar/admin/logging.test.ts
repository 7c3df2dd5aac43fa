import { afterEach, describe, expect, it } from "vitest";
import { handleLogging } from "./logging.ts";
import { startAdminServer, type AdminServer } from "./server.ts";
import { ENVOY_LOGGERS, LogRegistry } from "../host/log.ts";
import { MemoryStatsStore } from "../stats/store.ts";
import { defaultTagExtractors } from "../stats/tag-extractor.ts";

function registry() {
  const written: string[] = [];
  const logs = new LogRegistry((logger, level, message) => written.push(`${logger}/${level}: ${message}`));
  return { logs, written };
}

const q = (s: string) => new URLSearchParams(s);

const USAGE =
  "usage: /logging?<name>=<level> (change single level)\n" +
  "usage: /logging?paths=name1:level1,name2:level2,... (change multiple levels)\n" +
  "usage: /logging?level=<level> (change all levels)\n" +
  "levels: trace debug info warning error critical off \n";

describe("/logging (Envoy's LogsHandler)", () => {
  it("without parameters lists every logger and its level", () => {
    const { logs } = registry();
    logs.setLevel("wasm", 1);
    const r = handleLogging(logs, q(""));
    expect(r.status).toBe(200);
    const lines = r.body.split("\n");
    expect(lines[0]).toBe("active loggers:");
    expect(lines.slice(1, -2)).toEqual(ENVOY_LOGGERS.map((n) => `  ${n}: ${n === "wasm" ? "debug" : "info"}`));
    expect(r.body.endsWith("\n\n")).toBe(true);
  });

  it("level=<level> changes every logger and logs the change on `admin`", () => {
    const { logs, written } = registry();
    const r = handleLogging(logs, q("level=warning"));
    expect(r.status).toBe(200);
    expect(new Set(logs.list().map((l) => l.level))).toEqual(new Set(["warning"]));
    expect(written).toEqual(["admin/2: change all log levels: level='warning'"]);
  });

  it("<logger>=<level> changes one logger", () => {
    const { logs, written } = registry();
    expect(handleLogging(logs, q("wasm=debug")).status).toBe(200);
    expect(logs.level("wasm")).toBe(1);
    expect(logs.level("http")).toBe(2);
    expect(written).toEqual(["admin/2: change log level: name='wasm' level='debug'"]);
    expect(handleLogging(logs, q("wasm=off")).body).toContain("  wasm: off\n");
  });

  it("paths=<logger>:<level>,... changes several, skipping blank items", () => {
    const { logs } = registry();
    expect(handleLogging(logs, q("paths=wasm:trace,http:error, ,")).status).toBe(200);
    expect([logs.level("wasm"), logs.level("http"), logs.level("main")]).toEqual([0, 4, 2]);
  });

  it.each([
    ["wasm=debug&http=debug", "invalid number of parameters"],
    ["level=warn", "unknown logger level"],
    ["level=", "unknown logger level"],
    ["wasm=loud", "unknown logger level"],
    ["colour=debug", "unknown logger name"],
    ["paths=wasm:debug,nope:debug", "unknown logger name"],
    ["paths=wasm:", "empty logger name or empty logger level"],
    ["paths=:debug", "empty logger name or empty logger level"],
    ["paths=wasm:nope", "unknown logger level"],
  ])("%s -> 400 %s, nothing changed", (query, reason) => {
    const { logs } = registry();
    const r = handleLogging(logs, q(query));
    expect(r.status).toBe(400);
    expect(r.body.startsWith(`error: ${reason}\n\n${USAGE}active loggers:\n`)).toBe(true);
    expect(new Set(logs.list().map((l) => l.level))).toEqual(new Set(["info"]));
  });
});

describe("/logging on the admin server", () => {
  let server: AdminServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it("accepts only POST (Envoy: the endpoint mutates state)", async () => {
    const { logs } = registry();
    server = await startAdminServer({
      address: "127.0.0.1",
      port: 0,
      stats: new MemoryStatsStore(),
      extractors: defaultTagExtractors(),
      clusters: () => [],
      configDump: () => ({}),
      ready: () => true,
      logs,
    });
    const base = `http://127.0.0.1:${server.port}`;
    const get = await fetch(`${base}/logging?wasm=debug`);
    expect([get.status, await get.text()]).toEqual([405, "Method GET not allowed, POST required."]);
    expect(logs.level("wasm")).toBe(2);
    const post = await fetch(`${base}/logging?wasm=debug`, { method: "POST" });
    expect(post.status).toBe(200);
    expect(await post.text()).toContain("  wasm: debug\n");
    expect(logs.level("wasm")).toBe(1);
    const bad = await fetch(`${base}/logging?wasm=loud`, { method: "POST" });
    expect([bad.status, (await bad.text()).split("\n")[0]]).toEqual([400, "error: unknown logger level"]);
    expect(await (await fetch(`${base}/help`)).text()).toContain("  /logging: query/change logging levels\n");
  });
});
