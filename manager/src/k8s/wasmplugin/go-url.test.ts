import { describe, expect, it } from "vitest";
import { isUrl, parseRequestUri } from "./go-url.ts";

// Verdicts and schemes of Go 1.26 url.ParseRequestURI (checked against `go run` on the same inputs).
describe("parseRequestUri (Go's ParseRequestURI)", () => {
  it.each([
    ["oci://registry.example.com/filters/guard:1.0", "oci"],
    ["oci://localhost:5000/f@sha256:" + "a".repeat(64), "oci"],
    ["HTTPS://Example.com/x.wasm?v=1", "https"],
    ["file:///opt/filters/x.wasm", "file"],
    ["http://[::1]:8080/x", "http"],
    ["http://user:p%40ss@example.com/x", "http"],
    ["localhost:5000/f:1", "localhost"],
    ["ftp:x", "ftp"],
    ["/just/a/path", ""],
    ["*", ""],
  ])("accepts %s (scheme %j)", (input, scheme) => {
    expect(parseRequestUri(input).scheme).toBe(scheme);
  });

  it.each([
    ["", "empty url"],
    ["registry.example.com/filters/guard:1.0", "invalid URI for request"],
    [":foo", "missing protocol scheme"],
    ["http://exa mple.com/", `invalid character " " in host name`],
    ["http://example.com:80a/", `invalid port ":80a" after host`],
    ["http://example.com/%zz", `invalid URL escape "%zz"`],
    ["http://[1.2.3.4]/", "invalid IP-literal"],
    ["http://[::1/", "missing ']' in host"],
    ["http://a\nb/", "net/url: invalid control character in URL"],
    ["http://us er@example.com/", "net/url: invalid userinfo"],
    ["http://a:1:2/", `invalid port ":1:2" after host`],
  ])("refuses %j: %s", (input, reason) => {
    expect(() => parseRequestUri(input)).toThrow(`parse ${JSON.stringify(input)}: ${reason}`);
    expect(isUrl(input)).toBe(false);
  });

  it("allows a second colon in the host for schemes other than http(s), as Go 1.26 does", () => {
    expect(parseRequestUri("oci://a:1:2/x").host).toBe("a:1:2");
  });
});
