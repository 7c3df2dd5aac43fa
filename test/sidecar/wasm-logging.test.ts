/**
 * Envoy's `wasm` logger through the sidecar (issue 7 §5): a filter's proxy_log calls below the
 * logger's level are not written, proxy_get_log_level reports the level, and the admin
 * `/logging` endpoint changes it while traffic flows (`POST /logging?wasm=debug`, `?level=`,
 * `?paths=`), with Envoy's default of info.
 */
import { afterEach, describe, expect, it } from "vitest";
import { echoClient, unary } from "../support/grpc-echo.ts";
import { startHarness, type Harness } from "../support/sidecar-harness.ts";
import { wasmFilter } from "../support/envoy-config.ts";
import { loggingGuest } from "./logging-guest.ts";
import { LogRegistry } from "../../manager/src/sidecar/host/log.ts";

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

describe("the wasm logger", () => {
  it("hides messages below its level, reports the level to the filter, and follows /logging", async () => {
    const written: Array<{ logger: string; level: number; message: string }> = [];
    const logs = new LogRegistry((logger, level, message) => written.push({ logger, level, message }));
    h = await startHarness({
      files: { "log.wasm": await loggingGuest().build() },
      config: () => ({ admin: true, httpFilters: [wasmFilter({ name: "logger", filename: "log.wasm" })] }),
      sidecar: { logs },
    });
    const admin = `http://127.0.0.1:${h.sidecar.adminPort}`;
    const client = echoClient(h.port);
    /** One request; the filter's messages it produced and the level the filter read. */
    const request = async () => {
      written.length = 0;
      await unary(client, { message: "x" });
      const gauge = h!.sidecar.stats.find("wasmcustom.wasm_log_level");
      const level = gauge && "value" in gauge ? Number(gauge.value()) : -1;
      const wasm = written.filter((w) => w.logger === "wasm").map((w) => w.message.replace(/^wasm log logger: /, ""));
      return { level, wasm };
    };
    const post = async (query: string) => {
      const r = await fetch(`${admin}/logging?${query}`, { method: "POST" });
      expect(r.status).toBe(200);
    };
    try {
      expect(await request()).toEqual({ level: 2, wasm: ["at-info", "at-warn"] });
      await post("wasm=debug");
      expect(await request()).toEqual({ level: 1, wasm: ["at-debug", "at-info", "at-warn"] });
      await post("paths=wasm:trace,http:debug");
      expect(await request()).toEqual({ level: 0, wasm: ["at-trace", "at-debug", "at-info", "at-warn"] });
      await post("level=warning");
      expect(await request()).toEqual({ level: 3, wasm: ["at-warn"] });
      await post("level=off");
      expect(await request()).toEqual({ level: 6, wasm: [] });
      // Level changes are logged on `admin` before they apply (Envoy's order): turning `admin`
      // back on is not logged, the next change is.
      written.length = 0;
      await post("admin=info");
      expect(written).toEqual([]);
      await post("wasm=info");
      expect(written).toEqual([{ logger: "admin", level: 2, message: "change log level: name='wasm' level='info'" }]);
    } finally {
      client.close();
    }
  });
});
