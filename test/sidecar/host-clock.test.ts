/**
 * The host's clocks through the sidecar, as a filter sees them: proxy_get_current_time_nanoseconds,
 * the `request.time` property (StreamInfo's start) and `request.duration` (issue 7 §3). Envoy
 * reads nanosecond system time for the first two and the monotonic clock for the third; a
 * millisecond clock would make every value a multiple of 1e6 and every loopback duration a
 * multiple of 1 ms. The guest copies each value into a gauge, which the test reads back.
 */
import { afterEach, describe, expect, it } from "vitest";
import { echoClient, unary } from "../support/grpc-echo.ts";
import { startHarness, type Harness } from "../support/sidecar-harness.ts";
import { wasmFilter } from "../support/envoy-config.ts";
import { Guest, OUT_LEN, OUT_PTR, OUT_3 } from "../conformance/guest.ts";

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const GAUGES = ["clock_headers_ns", "clock_request_time_ns", "clock_log_ns", "clock_request_duration_ns"] as const;
const GAUGE = 1;

/** Defines one gauge per value at configure time; records them during the stream. */
function clockGuest(): Guest {
  const g = new Guest();
  GAUGES.forEach((_, i) => g.raw(`(global $m${i} (mut i32) (i32.const 0))`));
  const define = GAUGES.map(
    (name, i) => `(drop ${g.hc("proxy_define_metric", GAUGE, g.str(name), OUT_3)}) (global.set $m${i} (i32.load (i32.const ${OUT_3})))`,
  ).join("\n");
  g.on("proxy_on_configure", define, "(i32.const 1)");
  const now = (metric: number) =>
    `(drop ${g.hc("proxy_get_current_time_nanoseconds", OUT_PTR)})
     (drop ${g.hc("proxy_record_metric", `(global.get $m${metric})`, `(i64.load (i32.const ${OUT_PTR}))`)})`;
  const property = (path: string, metric: number) =>
    `(drop ${g.hc("proxy_get_property", g.str(path), OUT_PTR, OUT_LEN)})
     (drop ${g.hc("proxy_record_metric", `(global.get $m${metric})`, `(i64.load (i32.load (i32.const ${OUT_PTR})))`)})`;
  g.on("proxy_on_request_headers", `${now(0)} ${property("request\0time", 1)}`, "(i32.const 0)");
  g.on("proxy_on_log", `${now(2)} ${property("request\0duration", 3)}`);
  return g;
}

describe("host clocks through the sidecar", () => {
  it("wall time, request.time and request.duration have nanosecond resolution and one source", async () => {
    h = await startHarness({
      files: { "clock.wasm": await clockGuest().build() },
      config: () => ({ httpFilters: [wasmFilter({ name: "clock", filename: "clock.wasm" })] }),
    });
    const gauge = (name: string) => {
      const s = h!.sidecar.stats.find(`wasmcustom.${name}`);
      return s && "value" in s ? (s.value() as bigint) : -1n;
    };
    const client = echoClient(h.port);
    const samples: Array<Record<(typeof GAUGES)[number], bigint>> = [];
    try {
      for (let i = 0; i < 5; i++) {
        const before = BigInt(Date.now()) * 1_000_000n;
        await unary(client, { message: `t${i}` });
        // on_log runs when the stream completes, which the client may see first.
        for (let tries = 0; tries < 100 && samples.length === i; tries++) {
          if (gauge("clock_log_ns") >= before && gauge("clock_request_duration_ns") > 0n && gauge("clock_log_ns") !== samples.at(-1)?.clock_log_ns) {
            samples.push(Object.fromEntries(GAUGES.map((n) => [n, gauge(n)])) as Record<(typeof GAUGES)[number], bigint>);
          } else await new Promise((r) => setTimeout(r, 10));
        }
        expect(samples).toHaveLength(i + 1);
        const s = samples[i]!;
        const after = BigInt(Date.now() + 1) * 1_000_000n;
        for (const wall of [s.clock_headers_ns, s.clock_request_time_ns, s.clock_log_ns]) {
          expect(wall >= before - 2_000_000n && wall <= after + 2_000_000n).toBe(true);
        }
        // request.time is the stream's start, before the filter ran; on_log follows the end.
        expect(s.clock_request_time_ns <= s.clock_headers_ns).toBe(true);
        expect(s.clock_headers_ns <= s.clock_log_ns).toBe(true);
        // One source: from start to on_log covers the whole request.duration, and not much more.
        const startToLog = s.clock_log_ns - s.clock_request_time_ns;
        expect(startToLog >= s.clock_request_duration_ns).toBe(true);
        expect(startToLog - s.clock_request_duration_ns < 100_000_000n).toBe(true);
        expect(s.clock_request_duration_ns < 5_000_000_000n).toBe(true);
      }
    } finally {
      client.close();
    }
    // Millisecond clocks would make these multiples of 1e6 (a 1-in-a-million chance for each).
    for (const name of GAUGES) {
      const subMs = samples.filter((s) => s[name] % 1_000_000n !== 0n).length;
      expect(subMs, name).toBeGreaterThanOrEqual(4);
    }
  });
});
