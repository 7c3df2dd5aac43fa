import { beforeAll, describe, expect, it } from "vitest";
import { compileHarness, loadHarness, type GrpcHarness } from "./grpc-harness.ts";

let h: GrpcHarness;
beforeAll(async () => {
  h = await loadHarness(await compileHarness());
});

function parse(path: string): { service: string; method: string; pkg: string } | null {
  const ok = h.withBytes(Buffer.from(path), (p, n) => h.exports.parsePath!(p, n));
  if (!ok) return null;
  const [service, method, pkg] = h.outString().split("\n");
  return { service: service!, method: method!, pkg: pkg! };
}

describe("parseGrpcPath", () => {
  const good: Array<{ name: string; path: string; service: string; method: string; pkg: string }> = [
    { name: "package and service", path: "/helloworld.Greeter/SayHello", service: "helloworld.Greeter", method: "SayHello", pkg: "helloworld" },
    { name: "nested package", path: "/grpc.health.v1.Health/Check", service: "grpc.health.v1.Health", method: "Check", pkg: "grpc.health.v1" },
    { name: "no package", path: "/Greeter/SayHello", service: "Greeter", method: "SayHello", pkg: "" },
    { name: "underscores and digits", path: "/a_1.B2/m_3", service: "a_1.B2", method: "m_3", pkg: "a_1" },
    { name: "single-character parts", path: "/s/m", service: "s", method: "m", pkg: "" },
  ];
  for (const c of good) {
    it(`accepts ${c.name}: ${c.path}`, () => {
      expect(parse(c.path)).toEqual({ service: c.service, method: c.method, pkg: c.pkg });
    });
  }

  const bad: Array<{ name: string; path: string }> = [
    { name: "empty", path: "" },
    { name: "root", path: "/" },
    { name: "no leading slash", path: "pkg.Svc/Method" },
    { name: "no method", path: "/pkg.Svc" },
    { name: "empty method", path: "/pkg.Svc/" },
    { name: "empty service", path: "//Method" },
    { name: "extra slash", path: "/pkg.Svc/Method/extra" },
    { name: "double slash", path: "/pkg.Svc//Method" },
    { name: "leading double slash", path: "//pkg.Svc/Method" },
    { name: "trailing slash", path: "/pkg.Svc/Method/" },
    { name: "query string", path: "/pkg.Svc/Method?x=1" },
    { name: "fragment", path: "/pkg.Svc/Method#f" },
    { name: "space", path: "/pkg.Svc/Me thod" },
    { name: "percent escape", path: "/pkg.Svc/Me%74hod" },
    { name: "dot in method", path: "/pkg.Svc/a.b" },
    { name: "leading dot in service", path: "/.Svc/M" },
    { name: "trailing dot in service", path: "/pkg./M" },
    { name: "empty package segment", path: "/a..b/M" },
    { name: "non-ASCII", path: "/pkg.Svc/Méthod" },
    { name: "control character", path: "/pkg.Svc/M\u0001" },
  ];
  for (const c of bad) {
    it(`rejects ${c.name}: ${JSON.stringify(c.path)}`, () => {
      expect(parse(c.path)).toBeNull();
    });
  }
});
