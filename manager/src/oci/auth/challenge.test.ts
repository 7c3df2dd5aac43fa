import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseChallenges } from "./challenge.ts";

describe("parseChallenges", () => {
  it("reads a distribution Bearer challenge", () => {
    const h = 'Bearer realm="http://127.0.0.1:1234/token",service="reg",scope="repository:a/b:pull,push",error="invalid_token"';
    expect(parseChallenges(h)).toEqual([
      { scheme: "bearer", params: { realm: "http://127.0.0.1:1234/token", service: "reg", scope: "repository:a/b:pull,push", error: "invalid_token" } },
    ]);
  });
  it("reads Basic, token values, escapes and several challenges", () => {
    expect(parseChallenges('Basic realm="a \\"b\\"", Bearer realm=x, scope=y')).toEqual([
      { scheme: "basic", params: { realm: 'a "b"' } },
      { scheme: "bearer", params: { realm: "x", scope: "y" } },
    ]);
  });
  it("is empty for nothing", () => {
    expect(parseChallenges(null)).toEqual([]);
    expect(parseChallenges("")).toEqual([]);
  });
  it("never throws", () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (s) => Array.isArray(parseChallenges(s))), { numRuns: 20_000 });
  });
});
