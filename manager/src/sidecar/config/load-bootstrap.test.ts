import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError, loadBootstrapFile, parseBootstrap } from "./index.ts";

const testdata = join(dirname(fileURLToPath(import.meta.url)), "testdata");

function errorsOf(text: string): ConfigError["errors"] {
  try {
    parseBootstrap(text, { sourceName: "envoy.yaml", baseDir: testdata, env: {} });
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).errors;
  }
  throw new Error("expected a ConfigError");
}

describe("loadBootstrapFile", () => {
  it("reports a missing file as a one-line ConfigError", async () => {
    const path = join(testdata, "absent.yaml");
    await expect(loadBootstrapFile(path)).rejects.toThrow(`${path}:1:1: cannot read config: no such file`);
  });

  it("resolves Wasm file names against the config file's directory", async () => {
    const b = await loadBootstrapFile(join(testdata, "full.yaml"), {});
    const f = b.listeners[0]!.httpConnectionManager.httpFilters[0]!;
    expect(f.kind === "wasm" && f.plugin.codeSource).toBe(join(testdata, "plugin.wasm"));
  });
});

describe("error paths", () => {
  it("names fields inside a TypedStruct under .value", () => {
    const text = readFileSync(join(testdata, "typed-struct.yaml"), "utf8").replace("stat_prefix: ingress", "stat_prefix: ingress\n                  tracing: {}");
    expect(errorsOf(text)).toEqual([
      {
        path: "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.value.tracing",
        line: 13,
        column: 19,
        message: "not supported by the local sidecar",
      },
    ]);
  });

  it("rejects a field given both in snake_case and lowerCamelCase", () => {
    const text = readFileSync(join(testdata, "minimal.yaml"), "utf8").replace("port_value: 10000", "port_value: 10000, portValue: 10001");
    expect(errorsOf(text).map((e) => [e.path, e.line, e.message])).toEqual([
      ["static_resources.listeners[0].address.socket_address.portValue", 4, "field given twice (also as port_value)"],
    ]);
  });

  it("reports a required field missing inside a list item at the item", () => {
    const text = readFileSync(join(testdata, "minimal.yaml"), "utf8").replace('- name: all\n                      domains: ["*"]\n                      routes:', "- routes:");
    const errors = errorsOf(text);
    const vh = "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0]";
    expect(errors.map((e) => [e.path, e.line, e.message])).toEqual([
      [`${vh}.name`, 13, "is required"],
      [`${vh}.domains`, 13, "is required and must not be empty"],
    ]);
  });
});
