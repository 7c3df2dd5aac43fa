import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { compileHarness, encodePairs, loadHarness, type GrpcHarness } from "./grpc-harness.ts";

let h: GrpcHarness;
beforeAll(async () => {
  h = await loadHarness(await compileHarness());
});

const TRAILERS = 1, HEADERS = 2, HTTP = 3;

function status(trailers: Array<[string, string]> | null, headers: Array<[string, string]>) {
  const t = h.put(encodePairs(trailers ?? []));
  const hd = h.put(encodePairs(headers));
  const tl = trailers ? encodePairs(trailers).length : 0;
  const code = h.exports.statusFromMaps!(t, tl, trailers ? 1 : 0, hd, encodePairs(headers).length);
  h.release(t); h.release(hd);
  return { code, source: h.exports.statusSource!(), message: h.exports.statusHasMessage!() ? h.outString() : null };
}

describe("gRPC status extraction (Envoy Grpc::Common::getGrpcStatus order)", () => {
  const cases = [
    { name: "trailers win over headers", trailers: [["grpc-status", "5"], ["grpc-message", "gone"]], headers: [[":status", "200"], ["grpc-status", "3"]], want: { code: 5, source: TRAILERS, message: "gone" } },
    { name: "trailers without message", trailers: [["grpc-status", "0"]], headers: [[":status", "200"]], want: { code: 0, source: TRAILERS, message: null } },
    { name: "trailers-only response: status in headers", trailers: null, headers: [[":status", "200"], ["content-type", "application/grpc"], ["grpc-status", "16"], ["grpc-message", "no%20token"]], want: { code: 16, source: HEADERS, message: "no token" } },
    { name: "trailers present but without grpc-status fall back to headers", trailers: [["x-other", "1"]], headers: [[":status", "200"], ["grpc-status", "7"]], want: { code: 7, source: HEADERS, message: null } },
    { name: "out-of-range grpc-status is InvalidCode (-1)", trailers: [["grpc-status", "17"]], headers: [[":status", "200"]], want: { code: -1, source: TRAILERS, message: null } },
    { name: "non-numeric grpc-status is InvalidCode (-1)", trailers: [["grpc-status", "abc"]], headers: [[":status", "200"]], want: { code: -1, source: TRAILERS, message: null } },
    { name: "no grpc-status anywhere: HTTP 200 maps to UNKNOWN", trailers: null, headers: [[":status", "200"]], want: { code: 2, source: HTTP, message: null } },
    { name: "HTTP 503 maps to UNAVAILABLE", trailers: null, headers: [[":status", "503"]], want: { code: 14, source: HTTP, message: null } },
  ] as const;
  for (const c of cases) {
    it(c.name, () => {
      expect(status(c.trailers as Array<[string, string]> | null, c.headers as unknown as Array<[string, string]>)).toEqual(c.want);
    });
  }

  it("returns nothing without grpc-status or :status", () => {
    expect(status(null, [["content-type", "application/grpc"]]).code).toBe(-100);
  });

  it("maps HTTP statuses like Envoy's Grpc::Utility::httpToGrpcStatus", () => {
    const table: Array<[number, number]> = [
      [400, 13], [401, 16], [403, 7], [404, 12], [429, 14], [502, 14], [503, 14], [504, 14],
      [200, 2], [500, 2], [405, 2], [302, 2],
    ];
    for (const [http, grpc] of table) expect([http, h.exports.httpToGrpc!(http)]).toEqual([http, grpc]);
  });

  it("names every status code", () => {
    const names = ["OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
      "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
      "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"];
    names.forEach((name, code) => {
      h.exports.statusName!(code);
      expect(h.outString()).toBe(name);
    });
    h.exports.statusName!(17);
    expect(h.outString()).toBe("UNKNOWN_STATUS");
  });
});

describe("grpc-message percent-encoding (gRPC PROTOCOL-HTTP2 Status-Message)", () => {
  const encode = (s: string) => { h.withBytes(Buffer.from(s), (p, n) => h.exports.encodeMessage!(p, n)); return h.outString(); };
  const decode = (s: string) => { h.withBytes(Buffer.from(s), (p, n) => h.exports.decodeMessage!(p, n)); return h.outString(); };

  it("encodes '%', controls and non-ASCII as upper-case %XX of the UTF-8 bytes", () => {
    expect(encode("plain text ~!")).toBe("plain text ~!");
    expect(encode("100%")).toBe("100%25");
    expect(encode("a\nb\tc")).toBe("a%0Ab%09c");
    expect(encode("café")).toBe("caf%C3%A9");
    expect(encode("\u007f")).toBe("%7F");
  });

  it("decodes valid escapes and keeps invalid ones verbatim", () => {
    expect(decode("caf%c3%a9 %41")).toBe("café A");
    expect(decode("50%")).toBe("50%");
    expect(decode("%G1%4")).toBe("%G1%4");
    expect(decode("no escapes")).toBe("no escapes");
  });

  it("round-trips any string, and the encoding is printable ASCII", () => {
    fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 64 }), (s) => {
      const wellFormed = Buffer.from(s, "utf8").toString("utf8"); // lone surrogates become U+FFFD
      const e = encode(wellFormed);
      expect(e).toMatch(/^[\x20-\x7e]*$/);
      expect(decode(e)).toBe(wellFormed);
    }), { numRuns: 300 });
  });
});
