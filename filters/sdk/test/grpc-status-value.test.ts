/**
 * grpc-status values as Envoy parses them (Grpc::Common::getGrpcStatus: empty = absent, else
 * absl::SimpleAtoi<uint64_t>, > 16 = InvalidCode -1). One table drives the three readers that
 * must agree: the SDK's parseGrpcStatusValue (string), its byte parser (what GrpcStreamStatus
 * reads from the host), and the host's `response.grpc_status` property.
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { compileHarness, loadHarness, type GrpcHarness } from "./grpc-harness.ts";
import { getProperty } from "../../../manager/src/sidecar/host/properties.ts";
import { WasmResult } from "../../../manager/src/sidecar/host/abi.ts";
import { VirtualClock } from "../../../manager/src/sidecar/host/clock.ts";
import { HeaderMap } from "../../../manager/src/sidecar/http/header-map.ts";
import { StreamInfo } from "../../../manager/src/sidecar/http/stream-info.ts";

let h: GrpcHarness;
beforeAll(async () => {
  h = await loadHarness(await compileHarness());
});

const ABSENT = -2;
const INVALID = -1;

const sdkString = (v: string) => h.withBytes(Buffer.from(v, "utf8"), (p, n) => h.exports.statusValue!(p, n, 1));
const sdkBytes = (v: string) => h.withBytes(Buffer.from(v, "utf8"), (p, n) => h.exports.statusBytes!(p, n));

/** response.grpc_status with `value` as the trailers' grpc-status and no HTTP code; ABSENT = NotFound. */
function hostProperty(value: string): number {
  const stream = new StreamInfo({ wallMs: 0, monoNs: 0n });
  stream.responseTrailers = new HeaderMap([["grpc-status", value]]);
  const r = getProperty(["response", "grpc_status"], {
    stream,
    plugin: { name: "p", rootId: "r", vmId: "" },
    isRootContext: false,
    clock: new VirtualClock(),
  });
  if (r.result === WasmResult.NotFound) return ABSENT;
  expect(r.result).toBe(WasmResult.Ok);
  return Number(Buffer.from(r.value!).readBigInt64LE(0));
}

/** An independent model of absl::SimpleAtoi<uint64_t> + Envoy's > 16 check, on bytes. */
function envoyModel(value: string): number {
  const b = Buffer.from(value, "utf8");
  if (b.length === 0) return ABSENT;
  const space = (c: number) => c === 0x20 || (c >= 0x09 && c <= 0x0d);
  let s = 0;
  let e = b.length;
  while (s < e && space(b[s]!)) s++;
  while (e > s && space(b[e - 1]!)) e--;
  if (s >= e) return INVALID;
  if (b[s] === 0x2d) return INVALID; // negative: unsigned parse fails
  if (b[s] === 0x2b && ++s >= e) return INVALID;
  let v = 0n;
  for (let i = s; i < e; i++) {
    if (b[i]! < 0x30 || b[i]! > 0x39) return INVALID;
    v = v * 10n + BigInt(b[i]! - 0x30);
    if (v > 0xffff_ffff_ffff_ffffn) return INVALID; // overflow
  }
  return v <= 16n ? Number(v) : INVALID;
}

describe("grpc-status values (Envoy Grpc::Common::getGrpcStatus with absl::SimpleAtoi)", () => {
  const table: Array<[string, number]> = [
    ["", ABSENT],
    ["0", 0], ["7", 7], ["16", 16], ["17", INVALID], ["99", INVALID],
    ["007", 7], ["0016", 16], ["00", 0], ["0".repeat(40) + "7", 7], ["0".repeat(40) + "17", INVALID],
    [" 7", 7], ["7 ", 7], ["\t7\r\n", 7], ["\v7\f", 7], ["  16  ", 16],
    ["+7", 7], [" +0 ", 0], ["+007", 7],
    ["+", INVALID], ["-0", INVALID], ["-7", INVALID], ["+-7", INVALID], ["++7", INVALID], ["+ 7", INVALID],
    [" ", INVALID], ["\t\n", INVALID],
    ["7a", INVALID], ["a7", INVALID], ["0x7", INVALID], ["7 7", INVALID], ["1.0", INVALID], ["7,7", INVALID],
    ["18446744073709551615", INVALID], ["18446744073709551616", INVALID], ["99999999999999999999999999", INVALID],
    ["\u00a07", INVALID], ["7\u0000", INVALID], ["\u0667", INVALID], ["７", INVALID],
  ];
  for (const [value, want] of table) {
    it(`${JSON.stringify(value)} -> ${want}`, () => {
      expect(envoyModel(value)).toBe(want);
      expect({ sdkString: sdkString(value), sdkBytes: sdkBytes(value), host: hostProperty(value) })
        .toEqual({ sdkString: want, sdkBytes: want, host: want });
    });
  }

  it("the byte parser never traps and agrees with the model and the host on 100,000 random values", () => {
    const alphabet = fc.constantFrom(..."0123456789+- \t\n\v\f\rax.,".split(""), "\u00a0", "\u0667");
    const value = fc.oneof(
      fc.string({ unit: alphabet, maxLength: 24 }),
      fc.string({ unit: "binary", maxLength: 24 }),
      fc.integer({ min: 0, max: 40 }).map((n) => " ".repeat(n % 3) + "0".repeat(n) + String(n % 20)),
    );
    let n = 0;
    fc.assert(fc.property(value, (v) => {
      n++;
      const want = envoyModel(v);
      expect(sdkBytes(v)).toBe(want);
      expect(hostProperty(v)).toBe(want);
    }), { numRuns: 100_000 });
    expect(n).toBe(100_000);
  });

  it("the string reader agrees with the byte reader (any text)", () => {
    fc.assert(fc.property(fc.string({ unit: "grapheme", maxLength: 16 }), (v) => {
      expect(sdkString(v)).toBe(sdkBytes(v));
    }), { numRuns: 5_000 });
    expect(h.exports.statusValue!(0, 0, 0)).toBe(ABSENT); // null
  });

  it("maps gRPC codes to HTTP as Envoy's Grpc::Utility::grpcToHttpStatus", () => {
    const want = [200, 499, 500, 400, 504, 404, 409, 403, 429, 400, 409, 400, 501, 500, 503, 500, 401];
    expect(want.map((_, code) => h.exports.grpcToHttp!(code))).toEqual(want);
    expect([-1, 17, 1000].map((c) => h.exports.grpcToHttp!(c))).toEqual([500, 500, 500]);
  });
});
