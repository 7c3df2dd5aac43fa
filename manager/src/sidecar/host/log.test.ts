import { describe, expect, it } from "vitest";
import {
  ENVOY_LOGGERS,
  LEVEL_NAMES,
  LEVEL_OFF,
  LogLevelError,
  LogRegistry,
  formatEnvoyLogLine,
  formatLogLine,
  parseCliLogLevel,
  parseComponentLogLevels,
} from "./log.ts";

describe("formatLogLine", () => {
  it.each([
    ["stream, all parts", { filterName: "f", rootId: "r", vmId: "v", isStream: true }, "wasm log f r v: hi"],
    ["root, all parts (name not shown)", { filterName: "f", rootId: "r", vmId: "v", isStream: false }, "wasm log r v: hi"],
    ["stream, empty root id", { filterName: "f", rootId: "", vmId: "v", isStream: true }, "wasm log f v: hi"],
    ["stream, only name", { filterName: "f", isStream: true }, "wasm log f: hi"],
    ["root, only vm id", { rootId: "", vmId: "v", isStream: false }, "wasm log v: hi"],
    ["stream, all empty", { filterName: "", rootId: "", vmId: "", isStream: true }, "wasm log: hi"],
    ["root, all absent", { isStream: false }, "wasm log: hi"],
  ])("%s", (_name, parts, expected) => {
    expect(formatLogLine("hi", parts)).toBe(expected);
  });

  it("keeps the message verbatim, including colons and newlines", () => {
    expect(formatLogLine("a: b\nc", { isStream: false })).toBe("wasm log: a: b\nc");
  });
});

describe("Envoy's log level options", () => {
  it("--log-level takes spdlog's names and warn", () => {
    expect(LEVEL_NAMES.map(parseCliLogLevel)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(parseCliLogLevel("warn")).toBe(3);
    expect(() => parseCliLogLevel("verbose")).toThrow("error: invalid log level specified 'verbose'");
    expect(() => parseCliLogLevel("DEBUG")).toThrow(LogLevelError);
  });

  it("--component-log-level: pairs in order, and Envoy's errors", () => {
    expect(parseComponentLogLevels("upstream:debug,connection:trace,wasm:off")).toEqual([
      { logger: "upstream", level: 1 },
      { logger: "connection", level: 0 },
      { logger: "wasm", level: 6 },
    ]);
    expect(parseComponentLogLevels("")).toEqual([]);
    expect(() => parseComponentLogLevels("blah:debug")).toThrow("error: invalid component specified 'blah'");
    expect(() => parseComponentLogLevels("upstream:blah,connection:trace")).toThrow("error: invalid log level specified 'blah'");
    expect(() => parseComponentLogLevels("upstream:,connection:trace")).toThrow("error: invalid log level specified ''");
    expect(() => parseComponentLogLevels("upstream:foo:bar")).toThrow("error: component log level not correctly specified 'upstream:foo:bar'");
    expect(() => parseComponentLogLevels("upstream")).toThrow("error: component log level not correctly specified 'upstream'");
    // `warn` is accepted by --log-level only, as in Envoy
    expect(() => parseComponentLogLevels("wasm:warn")).toThrow("error: invalid log level specified 'warn'");
  });
});

describe("LogRegistry", () => {
  function registry() {
    const written: Array<[string, number, string]> = [];
    return { logs: new LogRegistry((l, lv, m) => written.push([l, lv, m])), written };
  }

  it("starts every Envoy logger at info and drops messages below a logger's level", () => {
    const { logs, written } = registry();
    expect(logs.list().map((l) => l.logger)).toEqual([...ENVOY_LOGGERS]);
    expect(new Set(logs.list().map((l) => l.level))).toEqual(new Set(["info"]));
    logs.log("wasm", 1, "debug: dropped");
    logs.log("wasm", 2, "info: kept");
    logs.setLevel("wasm", 1);
    logs.log("wasm", 1, "debug: kept now");
    logs.log("http", 1, "http debug: dropped");
    expect(written).toEqual([
      ["wasm", 2, "info: kept"],
      ["wasm", 1, "debug: kept now"],
    ]);
  });

  it("off silences a logger; setAll changes every logger", () => {
    const { logs, written } = registry();
    logs.setAll(LEVEL_OFF);
    logs.log("wasm", 5, "critical");
    expect(written).toEqual([]);
    expect(logs.level("admin")).toBe(LEVEL_OFF);
    logs.setAll(0);
    expect(logs.enabled("main", 0)).toBe(true);
    expect(() => logs.setLevel("nope", 0)).toThrow("error: invalid component specified 'nope'");
  });

  it("applyOptions: --log-level first, then the components; errors name the option", () => {
    const { logs } = registry();
    logs.applyOptions("error", "wasm:debug,http:trace");
    expect([logs.level("wasm"), logs.level("http"), logs.level("main")]).toEqual([1, 0, 4]);
    expect(() => logs.applyOptions("loud", "")).toThrow("--log-level: invalid log level specified 'loud'");
    expect(() => logs.applyOptions("info", "wasm=debug")).toThrow(
      "--component-log-level: component log level not correctly specified 'wasm=debug'",
    );
    // a failed call changes nothing
    expect(logs.level("wasm")).toBe(1);
  });
});

describe("formatEnvoyLogLine", () => {
  it("is Envoy's default pattern without the source location", () => {
    const at = new Date(2024, 0, 2, 3, 4, 5, 6);
    expect(formatEnvoyLogLine(at, 42, "wasm", 1, "wasm log f: hi")).toBe(
      "[2024-01-02 03:04:05.006][42][debug][wasm] wasm log f: hi",
    );
    expect(formatEnvoyLogLine(at, 1, "http", 3, "x")).toBe("[2024-01-02 03:04:05.006][1][warning][http] x");
  });
});
