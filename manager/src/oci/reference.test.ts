import { describe, expect, it } from "vitest";
import { formatReference, parseReference, registrySchemes, tagFromVersion } from "./reference.ts";

describe("parseReference", () => {
  const ok: Array<{ name: string; input: string; want: ReturnType<typeof parseReference> }> = [
    { name: "registry with port and tag", input: "127.0.0.1:5000/filters/grpc-auth:1.2.3", want: { registry: "127.0.0.1:5000", repository: "filters/grpc-auth", tag: "1.2.3" } },
    { name: "oci:// prefix", input: "oci://ghcr.io/acme/auth:v1", want: { registry: "ghcr.io", repository: "acme/auth", tag: "v1" } },
    { name: "no tag means latest", input: "registry.example.com/x", want: { registry: "registry.example.com", repository: "x", tag: "latest" } },
    { name: "docker hub one component", input: "alpine", want: { registry: "index.docker.io", repository: "library/alpine", tag: "latest" } },
    { name: "docker hub user repo", input: "docker.io/acme/filter:2", want: { registry: "index.docker.io", repository: "acme/filter", tag: "2" } },
    { name: "localhost", input: "localhost/a/b", want: { registry: "localhost", repository: "a/b", tag: "latest" } },
    {
      name: "digest",
      input: `r.io/a@sha256:${"a".repeat(64)}`,
      want: { registry: "r.io", repository: "a", digest: `sha256:${"a".repeat(64)}` },
    },
    {
      name: "tag and digest",
      input: `r.io/a:v1@sha256:${"b".repeat(64)}`,
      want: { registry: "r.io", repository: "a", tag: "v1", digest: `sha256:${"b".repeat(64)}` },
    },
    { name: "separators", input: "r.io/a.b_c__d--e/f:T_1.x-y", want: { registry: "r.io", repository: "a.b_c__d--e/f", tag: "T_1.x-y" } },
    { name: "ipv6", input: "[::1]:5000/a", want: { registry: "[::1]:5000", repository: "a", tag: "latest" } },
  ];
  for (const c of ok) it(c.name, () => expect(parseReference(c.input)).toEqual(c.want));

  const bad: Array<{ name: string; input: string; want: RegExp }> = [
    { name: "uppercase repository", input: "r.io/Filters/x", want: /repository name must be lowercase, got "Filters" \(column 6\)/ },
    { name: "bad tag", input: "r.io/x:-bad", want: /tag must match .* got "-bad" \(column 8\)/ },
    { name: "short digest", input: "r.io/x@sha256:abc", want: /digest must be sha256: followed by 64 lowercase hex digits, got "sha256:abc" \(column 8\)/ },
    { name: "other scheme", input: "https://r.io/x", want: /unsupported scheme "https:\/\/"/ },
    { name: "empty component", input: "r.io/a//b", want: /empty path component .* \(column 8\)/ },
    { name: "bad port", input: "r.io:99999/x", want: /bad registry port "99999"/ },
    { name: "missing repository", input: "r.io/:tag", want: /missing repository name/ },
    { name: "empty", input: "  ", want: /empty/ },
    { name: "too long", input: `r.io/${"a".repeat(256)}`, want: /longer than 255/ },
    { name: "double separator", input: "r.io/a..b", want: /bad repository path component "a..b"/ },
  ];
  for (const c of bad) it(`rejects ${c.name}`, () => expect(() => parseReference(c.input)).toThrow(c.want));

  it("formats canonically", () => {
    expect(formatReference(parseReference("oci://127.0.0.1:5000/a/b:t"))).toBe("127.0.0.1:5000/a/b:t");
  });
});

describe("tags and schemes", () => {
  it("turns build metadata into a tag as Helm does", () => {
    expect(tagFromVersion("0.3.1+0123456789ab.dirty")).toBe("0.3.1_0123456789ab.dirty");
    expect(() => tagFromVersion("1.0 beta")).toThrow(/cannot be used as an image tag/);
  });
  it("allows plain HTTP only where go-containerregistry does, or when asked", () => {
    expect(registrySchemes("127.0.0.1:5000", false)).toEqual(["https", "http"]);
    expect(registrySchemes("localhost:5000", false)).toEqual(["https", "http"]);
    expect(registrySchemes("192.168.1.4", false)).toEqual(["https", "http"]);
    expect(registrySchemes("172.32.0.1", false)).toEqual(["https"]);
    expect(registrySchemes("ghcr.io", false)).toEqual(["https"]);
    expect(registrySchemes("ghcr.io", true)).toEqual(["https", "http"]);
  });
});
