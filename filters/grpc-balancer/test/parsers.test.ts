/**
 * The response-signal parsers (assembly/signals.ts) and the endpoint-address check
 * (assembly/address.ts) on tables of accepted and refused values, plus 100,000 random byte
 * strings through each: no trap, and every result in its documented range.
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { loadPureHarness, type PureHarness } from "./pure-harness.ts";

let h: PureHarness;
beforeAll(async () => {
  h = await loadPureHarness();
});

const NOW = BigInt(Date.UTC(2026, 0, 2, 3, 4, 5)) * 1_000_000n; // wall clock in ns

describe("grpc-retry-pushback-ms", () => {
  it.each([
    ["0", 0],
    ["250", 250e6],
    [" 1500 ", 1500e6],
    ["-1", 777],
    ["-0", 0],
    ["", -1],
    ["12a", -1],
    ["1.5", -1],
    ["9999999999999999", -1],
  ])("%j -> %d ns", (value, ns) => {
    expect(h.withBytes(value, (p, n) => h.x.pushback!(p, n, 777))).toBe(ns);
  });
});

describe("retry-after", () => {
  it.each([
    ["120", 120e9],
    ["0", 0],
    ["Fri, 02 Jan 2026 03:04:15 GMT", 10e9],
    ["Fri, 02 Jan 2026 03:04:00 GMT", 0], // in the past
    ["Thu, 01 Jan 1970 00:00:00 GMT", 0],
    ["Fri, 02 Jan 2026 03:04:15 UTC", -1],
    ["Friday, 02-Jan-26 03:04:15 GMT", -1], // RFC 850 form: not IMF-fixdate
    ["Fri, 32 Jan 2026 03:04:15 GMT", -1],
    ["soon", -1],
    ["", -1],
  ])("%j -> %d ns", (value, ns) => {
    expect(h.withBytes(value, (p, n) => h.x.retryAfter!(p, n, NOW))).toBe(ns);
  });
});

describe("ORCA endpoint-load-metrics", () => {
  it.each([
    ["TEXT cpu_utilization=0.5, rps_fractional=100, eps=10", 100 / 0.6],
    ["TEXT application_utilization=0.25,cpu_utilization=0.9", 4],
    ["cpu_utilization:0.5", 2],
    ["TEXT named_metrics.foo=3, cpu_utilization=1e-1", 10],
    ['JSON {"cpu_utilization": 0.2, "rps_fractional": 50}', 250],
    ['JSON {"cpuUtilization": 0.5, "rpsFractional": 10, "eps": 5}', 10 / 1.0],
  ])("%j -> weight %d", (value, weight) => {
    expect(h.withBytes(value, (p, n) => h.x.loadReport!(p, n))).toBeCloseTo(weight, 9);
  });

  it.each(["BIN CgQIARAC", "JSON {", "JSON [1]", "TEXT", "TEXT mem_utilization", ""])("%j is not a usable report", (value) => {
    const w = h.withBytes(value, (p, n) => h.x.loadReport!(p, n));
    expect(w === -1 || w === 0).toBe(true);
  });

  it("skips malformed pairs and keeps the rest", () => {
    expect(h.withBytes("TEXT cpu_utilization=abc, cpu_utilization=0.5, =3, eps", (p, n) => h.x.loadReport!(p, n))).toBe(2);
    expect(h.x.reportCpu!()).toBe(0.5);
    expect(Number.isNaN(h.x.reportQps!())).toBe(true);
  });
});

describe("endpoint addresses", () => {
  it.each([
    "10.0.0.1:8080",
    "127.0.0.1:1",
    "0.0.0.0:65535",
    "[::1]:80",
    "[fe80::1:2]:443",
    "[2001:db8:0:0:0:0:2:1]:50051",
    "[::ffff:10.1.2.3]:80",
  ])("accepts %s", (a) => {
    expect(h.withBytes(a, (p, n) => h.x.address!(p, n))).toBe(1);
  });

  it.each([
    "10.0.0.1",
    "10.0.0.1:0",
    "10.0.0.1:65536",
    "10.0.0.1:080",
    "10.0.0.256:80",
    "10.0.01.1:80",
    "10.0.0:80",
    "10.0.0.1.2:80",
    "host.example:80",
    "[::1:80",
    "::1:80",
    "[1:2:3:4:5:6:7:8:9]:80",
    "[1::2::3]:80",
    "[12345::1]:80",
    "10.0.0.1:80\n",
    "10.0.0.1: 80",
    "",
  ])("refuses %j", (a) => {
    expect(h.withBytes(a, (p, n) => h.x.address!(p, n))).toBe(0);
  });
});

describe("random input (100,000 strings each)", () => {
  it("never traps; results stay in range", () => {
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      fc.stringMatching(/^[0-9a-fA-F:.\[\] ,=TEXTJSON{}"-]{0,48}$/).map((s) => new Uint8Array(Buffer.from(s))),
    );
    fc.assert(
      fc.property(bytes, (b) => {
        const pushback = h.withBytes(b, (p, n) => h.x.pushback!(p, n, 5));
        const retry = h.withBytes(b, (p, n) => h.x.retryAfter!(p, n, NOW));
        const weight = h.withBytes(b, (p, n) => h.x.loadReport!(p, n));
        const addr = h.withBytes(b, (p, n) => h.x.address!(p, n));
        return (
          (pushback === -1 || (pushback >= 0 && Number.isFinite(pushback))) &&
          (retry === -1 || (retry >= 0 && Number.isFinite(retry))) &&
          (weight === -1 || (weight >= 0 && Number.isFinite(weight))) &&
          (addr === 0 || addr === 1)
        );
      }),
      { numRuns: 100000, seed: 21 },
    );
  });
});
