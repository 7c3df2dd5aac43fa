import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDemoBackend, type DemoBackend } from "./services/backend.ts";
import { formatTrafficReport, runTraffic, TRAFFIC_METHODS, type TrafficReport } from "./traffic.ts";
import { percentile, summarizeLatencies } from "./latency.ts";
import { UserError } from "../errors.ts";

/** Deterministic PRNG for the method mix. */
function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let backends: DemoBackend[];

beforeAll(async () => {
  backends = await Promise.all(
    ["backend-a", "backend-b", "backend-c"].map((name) => startDemoBackend({ name })),
  );
});

afterAll(async () => {
  await Promise.all(backends.map((b) => b.stop()));
});

describe("runTraffic", () => {
  it("one connection to one of three backends pins every RPC to it", async () => {
    const [a, b, c] = backends as [DemoBackend, DemoBackend, DemoBackend];
    const before = [a, b, c].map((x) => x.totalCalls());
    const report = await runTraffic({ target: a.address, rpcs: 60, concurrency: 8 });
    expect(report.rpcs).toBe(60);
    expect(report.ok).toBe(60);
    expect(report.byBackend).toEqual({ "backend-a": 60 });
    expect(report.byStatus).toEqual({ OK: 60 });
    expect(report.byMethod).toEqual({ "Echo/Unary": 60 });
    expect(a.totalCalls() - before[0]!).toBe(60);
    expect(b.totalCalls()).toBe(before[1]);
    expect(c.totalCalls()).toBe(before[2]);
  });

  it("follows the weighted mix, deterministically for a seeded random", async () => {
    const target = backends[1]!.address;
    const mix = [
      { method: "Echo/Unary", weight: 3 },
      { method: "Echo/ServerStream", weight: 1 },
      { method: "Echo/ClientStream", weight: 1 },
      { method: "Echo/Bidi", weight: 1 },
      { method: "Inventory/GetItem", weight: 1 },
      { method: "Inventory/ListItems", weight: 1 },
      { method: "Health/Check", weight: 1 },
    ];
    const r1 = await runTraffic({ target, rpcs: 90, concurrency: 5, mix, random: seeded(7) });
    const r2 = await runTraffic({ target, rpcs: 90, concurrency: 5, mix, random: seeded(7) });
    expect(r1.byMethod).toEqual(r2.byMethod);
    expect(Object.keys(r1.byMethod).sort()).toEqual(mix.map((m) => m.method).sort());
    expect(Object.values(r1.byMethod).reduce((s, n) => s + n, 0)).toBe(90);
    expect(r1.failed).toBe(0);
    // Health checks carry no served_by field but the trailer names the backend.
    expect(r1.byBackend).toEqual({ "backend-b": 90 });
    expect(r1.unattributed).toBe(0);
    expect(r1.latencyMs.count).toBe(90);
    expect(r1.latencyMs.p50).toBeLessThanOrEqual(r1.latencyMs.p99);
  });

  it("counts failures per status and attributes them to the backend", async () => {
    const c = backends[2]!;
    c.setErrorRate(1);
    try {
      const report = await runTraffic({ target: c.address, rpcs: 10, concurrency: 2 });
      expect(report.failed).toBe(10);
      expect(report.byStatus).toEqual({ UNAVAILABLE: 10 });
      expect(report.byBackend).toEqual({ "backend-c": 10 });
      expect(report.errors).toEqual([
        {
          method: "Echo/Unary",
          code: 14,
          status: "UNAVAILABLE",
          message: "injected failure by backend-c",
          count: 10,
        },
      ]);
    } finally {
      c.setErrorRate(0);
    }
  });

  it("applies the deadline to each RPC", async () => {
    const a = backends[0]!;
    a.setLatency(1000);
    try {
      const report = await runTraffic({ target: a.address, rpcs: 4, concurrency: 4, deadlineMs: 50 });
      expect(report.byStatus).toEqual({ DEADLINE_EXCEEDED: 4 });
      expect(report.unattributed).toBe(4);
    } finally {
      a.setLatency(0);
    }
  });

  it("rejects bad options with a UserError", async () => {
    const target = backends[0]!.address;
    await expect(runTraffic({ target, rpcs: 1, concurrency: 0 })).rejects.toThrow(UserError);
    await expect(
      runTraffic({ target, rpcs: 1, concurrency: 1, mix: [{ method: "Nope/X", weight: 1 }] }),
    ).rejects.toThrow(/unknown method/);
    await expect(
      runTraffic({ target, rpcs: 1, concurrency: 1, mix: [{ method: "Echo/Unary", weight: 0 }] }),
    ).rejects.toThrow(UserError);
    expect(TRAFFIC_METHODS).toContain("Inventory/ReserveItem");
  });
});

describe("latency summary", () => {
  it("uses exact nearest-rank percentiles", () => {
    const samples = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1
    const s = summarizeLatencies(samples);
    expect(s).toMatchObject({ count: 100, min: 1, p50: 50, p90: 90, p99: 99, max: 100, mean: 50.5 });
    expect(percentile([], 0.5)).toBe(0);
    expect(percentile([7], 0.99)).toBe(7);
  });
});

describe("formatTrafficReport", () => {
  const report: TrafficReport = {
    target: "127.0.0.1:15001",
    rpcs: 300,
    concurrency: 8,
    durationMs: 1500,
    ok: 291,
    failed: 9,
    byMethod: { "Echo/Unary": 210, "Inventory/GetItem": 90 },
    byStatus: { OK: 291, UNAVAILABLE: 7, DEADLINE_EXCEEDED: 2 },
    byBackend: { "backend-a": 150, "backend-b": 97, "backend-c": 51 },
    unattributed: 2,
    latencyMs: { count: 300, min: 0.4, mean: 3.3, p50: 1.7, p90: 6.2, p99: 18.4, max: 42.9 },
    latencyByBackendMs: {
      "backend-a": { count: 150, min: 0.4, mean: 1.1, p50: 1.2, p90: 2, p99: 3.1, max: 4 },
      "backend-b": { count: 97, min: 0.5, mean: 2.1, p50: 2.3, p90: 3, p99: 4.6, max: 5 },
      "backend-c": { count: 51, min: 9, mean: 12, p50: 11.8, p90: 15, p99: 21.7, max: 42.9 },
    },
    errors: [
      { method: "Echo/Unary", code: 14, status: "UNAVAILABLE", message: "injected failure by backend-c", count: 7 },
      { method: "Inventory/GetItem", code: 4, status: "DEADLINE_EXCEEDED", message: "Deadline exceeded", count: 2 },
    ],
  };
  const text = formatTrafficReport(report);
  const lines = text.trimEnd().split("\n");
  const lineOf = (start: string) => lines.find((l) => l.startsWith(start)) ?? "";

  it("contains the numbers it was given", () => {
    expect(text).toContain("300 RPCs to 127.0.0.1:15001");
    expect(text).toContain("concurrency 8");
    expect(text).toContain("200.0 RPC/s");
    expect(lineOf("Result:")).toContain("291 OK, 9 failed (3.0%)");
    expect(lineOf("backend-a")).toMatch(/backend-a\s+150\s+50\.0%\s+1\.2\s+3\.1\s+#+/);
    expect(lineOf("backend-b")).toMatch(/97\s+32\.3%\s+2\.3\s+4\.6/);
    expect(lineOf("backend-c")).toMatch(/51\s+17\.0%\s+11\.8\s+21\.7/);
    expect(lineOf("(no backend)")).toMatch(/2\s+0\.7%/);
    expect(lineOf("OK")).toMatch(/OK\s+0\s+291\s+97\.0%/);
    expect(lineOf("UNAVAILABLE")).toMatch(/UNAVAILABLE\s+14\s+7\s+2\.3%/);
    expect(lineOf("DEADLINE_EXCEEDED")).toMatch(/DEADLINE_EXCEEDED\s+4\s+2\s+0\.7%/);
    expect(lineOf("Echo/Unary")).toMatch(/Echo\/Unary\s+210\s+70\.0%/);
    expect(lineOf("all RPCs")).toMatch(/0\.4\s+1\.7\s+6\.2\s+18\.4\s+42\.9\s+3\.3/);
    expect(text).toContain("7 x UNAVAILABLE (14) Echo/Unary: injected failure by backend-c");
  });

  it("draws bars proportional to share and aligns columns", () => {
    const hashes = (l: string) => (l.match(/#/g) ?? []).length;
    expect(hashes(lineOf("backend-a"))).toBeGreaterThan(hashes(lineOf("backend-b")));
    expect(hashes(lineOf("backend-b"))).toBeGreaterThan(hashes(lineOf("backend-c")));
    const col = (l: string) => l.indexOf("%");
    expect(col(lineOf("backend-a"))).toBe(col(lineOf("backend-c")));
    expect(col(lineOf("OK"))).toBe(col(lineOf("UNAVAILABLE")));
  });

  it("keeps every line under 100 columns", () => {
    const long = formatTrafficReport({
      ...report,
      errors: [{ ...report.errors[0]!, message: "x".repeat(300) }],
    });
    for (const l of long.split("\n")) expect(l.length).toBeLessThan(100);
  });

  it("renders an empty report", () => {
    const empty = formatTrafficReport({
      ...report, rpcs: 0, ok: 0, failed: 0, byMethod: {}, byStatus: {}, byBackend: {},
      unattributed: 0, latencyByBackendMs: {}, errors: [],
      latencyMs: summarizeLatencies([]),
    });
    expect(empty).toContain("0 RPCs");
    expect(empty).not.toContain("Errors");
  });
});
