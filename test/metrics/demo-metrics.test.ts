/**
 * The demo (`npm start`) with the grpc-metrics filter: what it prints per method, read back from
 * the sidecar's /stats/prometheus, matches the traffic the demo sent (RPCs per method, codes), and
 * the same rows read back from a real Prometheus are identical (counts, codes and quantiles).
 * Uses the filters of an earlier `npm run build`.
 */
import { describe, expect, it } from "vitest";
import { runDemo } from "../../manager/src/demo/mesh/run-demo.ts";
import { prometheusGate } from "../support/prometheus.ts";

const gate = prometheusGate();
const FULL_NAMES: Record<string, string> = {
  Echo: "meshwasm.demo.v1.Echo",
  Inventory: "meshwasm.demo.v1.Inventory",
  Health: "grpc.health.v1.Health",
};

describe("the demo's per-method metrics", () => {
  it.skipIf(gate.skip)(`match the traffic it sent, from the sidecar and from Prometheus${gate.skip ? ` (skipped: ${gate.reason})` : ""}`, async () => {
    const printed: string[] = [];
    const r = await runDemo({ rpcs: 150, concurrency: 8, listenerPort: 0, adminPort: 0, build: false, print: (t) => printed.push(t) });
    const text = printed.join("\n");
    expect(text).toContain("[6/6] what the grpc-metrics filter counted, per method");

    // Every RPC of the sidecar burst, plus the demo's one probe RPC (Echo/Unary), by method.
    const expected: Record<string, number> = {};
    for (const [m, n] of Object.entries(r.viaSidecar.byMethod)) {
      const [svc, method] = m.split("/") as [string, string];
      expected[`${FULL_NAMES[svc]}/${method}`] = n;
    }
    expected["meshwasm.demo.v1.Echo/Unary"] = (expected["meshwasm.demo.v1.Echo/Unary"] ?? 0) + 1;
    expect(Object.fromEntries(r.methods.map((m) => [`${m.service}/${m.method}`, m.rpcs]))).toEqual(expected);

    // Codes: the filter's grpc-go names against the client's view.
    const codes: Record<string, number> = {};
    for (const m of r.methods) for (const [c, n] of Object.entries(m.byCode)) codes[c] = (codes[c] ?? 0) + n;
    const clientOk = (r.viaSidecar.byStatus.OK ?? 0) + 1;
    expect(codes.OK).toBe(clientOk);
    expect(codes.FailedPrecondition ?? 0).toBe(r.viaSidecar.byStatus.FAILED_PRECONDITION ?? 0);
    for (const m of r.methods) expect(m.p99Ms).toBeGreaterThanOrEqual(m.p50Ms);

    // Prometheus scraped the same counters: identical rows.
    expect(r.prometheusMethods).toBeDefined();
    const key = (m: { service: string; method: string }) => `${m.service}/${m.method}`;
    const fromProm = new Map(r.prometheusMethods!.map((m) => [key(m), m]));
    for (const m of r.methods) {
      const p = fromProm.get(key(m))!;
      expect(p.rpcs).toBe(m.rpcs);
      expect(p.byCode).toEqual(m.byCode);
      expect(p.p50Ms).toBeCloseTo(m.p50Ms, 6);
      expect(p.p99Ms).toBeCloseTo(m.p99Ms, 6);
    }
    expect(text).toContain("read back from Prometheus");
  }, 180_000);
});
