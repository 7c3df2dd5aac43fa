import { describe, expect, it } from "vitest";
import type { HeaderMatcher, Route, RouteConfiguration, RouteMatch } from "../../config/model.ts";
import { HeaderMap } from "../../http/header-map.ts";
import { RouteMatcher } from "./route-matcher.ts";

function route(name: string, match: Partial<RouteMatch>, cluster = name): Route {
  return {
    name,
    match: { caseSensitive: true, headers: [], grpc: false, ...match },
    route: { cluster, timeoutMs: 15000 },
    requestHeadersToAdd: [],
    responseHeadersToAdd: [],
  };
}
const hm = (name: string, m: Partial<HeaderMatcher>): HeaderMatcher => ({ name, invertMatch: false, ...m });

function req(path: string, authority = "svc", extra: Array<[string, string]> = []): HeaderMap {
  return new HeaderMap([[":method", "POST"], [":path", path], [":authority", authority], [":scheme", "http"], ...extra]);
}

describe("route matcher: virtual hosts", () => {
  const config: RouteConfiguration = {
    name: "rc",
    virtualHosts: [
      { name: "exact", domains: ["api.example.com"], routes: [route("r-exact", { prefix: "/" })] },
      { name: "suffix-long", domains: ["*.api.example.com"], routes: [route("r-suffix-long", { prefix: "/" })] },
      { name: "suffix", domains: ["*.example.com"], routes: [route("r-suffix", { prefix: "/" })] },
      { name: "prefix", domains: ["api.*"], routes: [route("r-prefix", { prefix: "/" })] },
      { name: "port", domains: ["svc:8080"], routes: [route("r-port", { prefix: "/" })] },
      { name: "default", domains: ["*"], routes: [route("r-default", { prefix: "/" })] },
    ],
  };
  const m = new RouteMatcher(config);
  it.each([
    ["api.example.com", "exact"],
    ["API.Example.COM", "exact"],
    ["v1.api.example.com", "suffix-long"],
    ["www.example.com", "suffix"],
    [".example.com", "default"], // "*" must match at least one character
    ["api.other.org", "prefix"],
    ["svc:8080", "port"],
    ["svc", "default"],
    ["api.example.com:443", "prefix"], // no port stripping: exact fails, prefix "api." matches
    ["other", "default"],
  ])("%s -> %s", (authority, vh) => {
    expect(m.match(req("/x", authority))?.virtualHostName).toBe(vh);
  });
});

describe("route matcher: routes", () => {
  const config: RouteConfiguration = {
    name: "rc",
    virtualHosts: [
      {
        name: "vh",
        domains: ["*"],
        routes: [
          route("grpc-only", { prefix: "/grpc.", grpc: true }),
          route("exact-path", { path: "/exact" }),
          route("ci-path", { path: "/CI", caseSensitive: false }),
          route("regex", { safeRegex: "/items/[0-9]+" }),
          route("hdr-exact", { prefix: "/h", headers: [hm("x-env", { exact: "canary" })] }),
          route("hdr-inverted", { prefix: "/h", headers: [hm("x-env", { exact: "prod", invertMatch: true })] }),
          route("hdr-absent", { prefix: "/h", headers: [hm("x-env", { present: true, invertMatch: true })] }),
          route("prefix-ci", { prefix: "/CaSe", caseSensitive: false }),
          route("prefix", { prefix: "/p" }),
        ],
      },
    ],
  };
  const m = new RouteMatcher(config);
  it.each([
    ["/grpc.Svc/M", [["content-type", "application/grpc"]], "grpc-only"],
    ["/grpc.Svc/M", [["content-type", "application/grpc+proto"]], "grpc-only"],
    ["/grpc.Svc/M", [["content-type", "application/grpc-web"]], undefined],
    ["/exact?x=1", [], "exact-path"],
    ["/exactly", [], undefined],
    ["/ci", [], "ci-path"],
    ["/items/42?q", [], "regex"],
    ["/items/42x", [], undefined],
    ["/h", [["x-env", "canary"]], "hdr-exact"],
    ["/h", [["x-env", "dev"]], "hdr-inverted"],
    ["/h", [["x-env", "prod"]], undefined],
    ["/h", [], "hdr-absent"],
    ["/case/x", [], "prefix-ci"],
    ["/p?q=1", [], "prefix"],
    ["/P", [], undefined],
  ] as Array<[string, Array<[string, string]>, string | undefined]>)("%s %j -> %s", (path, extra, name) => {
    expect(m.match(req(path, "any", extra))?.routeName).toBe(name);
  });

  it("no :path (CONNECT) never matches", () => {
    expect(m.match(new HeaderMap([[":method", "CONNECT"], [":authority", "x"]]))).toBeUndefined();
  });
});

describe("route matcher: weighted clusters", () => {
  it("random % total picks the cluster whose range holds it", () => {
    let next = 0;
    const config: RouteConfiguration = {
      name: "rc",
      virtualHosts: [
        {
          name: "vh",
          domains: ["*"],
          routes: [
            {
              ...route("w", { prefix: "/" }),
              route: { weightedClusters: [{ name: "a", weight: 1 }, { name: "b", weight: 3 }], timeoutMs: 5000 },
            },
          ],
        },
      ],
    };
    const m = new RouteMatcher(config, { random: () => next });
    const picks = [0, 1, 2, 3, 4, 5].map((v) => {
      next = v;
      return m.match(req("/"))?.clusterName;
    });
    expect(picks).toEqual(["a", "b", "b", "b", "a", "b"]);
    expect(m.match(req("/"))?.timeoutMs).toBe(5000);
  });
});
