/**
 * "Every host function from every callback": one hostcalls program calls each probe below from
 * each callback the host drives, and the worker's results must be Envoy's status for that
 * (callback, import) pair (reference §1.3, §2.1-§2.7; Envoy extensions/common/wasm/context.cc,
 * proxy-wasm-cpp-host src/exports.cc). Kong's `hostcalls` filter tests the same matrix phase by
 * phase.
 */
import { describe, expect, it } from "vitest";
import { encodePairs } from "../../manager/src/sidecar/host/pairs.ts";
import { CALLBACKS, out, type Callback, type Step } from "./hostcalls-guest.ts";
import { runHostcalls } from "./hostcalls-run.ts";
import { EVERY_CALLBACK_PROBES, ROOT_CALLBACKS, type Probe } from "./hostcalls-cases.ts";

/** Steps that make the callbacks happen (and ids the probes load). */
const SETUP: Step[] = [
  { on: "configure", call: "proxy_register_shared_queue", args: ["q", out(10)] },
  { on: "configure", call: "proxy_define_metric", args: [0, "hc_counter", out(9)] },
  { on: "configure", call: "proxy_set_tick_period_milliseconds", args: [1000] },
  {
    on: "request_headers",
    call: "proxy_http_call",
    args: ["upstream", encodePairs([[":method", "GET"], [":path", "/"], [":authority", "up"]]), "", "", 0, out(11)],
  },
];

function expected(p: Probe, cb: Callback): number | undefined {
  if (p.skip?.includes(cb)) return undefined;
  return typeof p.expect === "number" ? p.expect : p.expect(cb, ROOT_CALLBACKS.includes(cb));
}

describe("every host function from every callback", () => {
  it("returns Envoy's status for each (callback, import) pair", async () => {
    const steps: Step[] = [...SETUP];
    const want: Record<string, number> = {};
    const index: Array<[string, number]> = [];
    // Probes that change the effective context run last in each callback.
    const ordered = [...EVERY_CALLBACK_PROBES.filter((p) => !p.last), ...EVERY_CALLBACK_PROBES.filter((p) => p.last)];
    for (const p of ordered) {
      for (const cb of CALLBACKS) {
        const e = expected(p, cb);
        if (e === undefined) continue;
        const key = `${cb} ${p.name}`;
        want[key] = e;
        index.push([key, steps.length]);
        steps.push({ on: cb, call: p.call, args: p.args });
      }
    }
    const run = await runHostcalls(steps);
    expect(run.results.slice(0, SETUP.length).map((r) => r.status)).toEqual([0, 0, 0, 0]);
    const got: Record<string, number | string> = {};
    for (const [key, i] of index) {
      const r = run.results[i]!;
      got[key] = r.hits === 0 ? "not called" : r.status;
    }
    const mismatches = Object.keys(want).filter((k) => got[k] !== want[k]).map((k) => `${k}: got ${got[k]}, want ${want[k]}`);
    expect(mismatches).toEqual([]);
    expect(run.vm.failed).toBe(false);
  });
});
