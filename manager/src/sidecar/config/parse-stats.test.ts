import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parseBootstrap } from "./parse-bootstrap.ts";
import { ConfigError } from "./config-error.ts";

const testdata = join(dirname(fileURLToPath(import.meta.url)), "testdata");
const minimal = readFileSync(join(testdata, "minimal.yaml"), "utf8");

function parse(statsConfig: string, format: "yaml" | "json" = "yaml") {
  const text = format === "yaml" ? `stats_config:\n${statsConfig}\n${minimal}` : statsConfig;
  return parseBootstrap(text, { sourceName: `envoy.${format}`, baseDir: testdata, env: {} });
}

function errorsOf(statsConfig: string): string[] {
  try {
    parse(statsConfig);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).errors.map((i) => `${i.line}:${i.column}: ${i.path}: ${i.message}`);
  }
  throw new Error("expected a ConfigError");
}

describe("stats_config.histogram_bucket_settings", () => {
  it("reads rules in order with every StringMatcher kind, sorting each rule's buckets", () => {
    const b = parse(
      [
        "  histogram_bucket_settings:",
        "    - match: { exact: wasmcustom.a }",
        "      buckets: [10, 1, 5]",
        "    - match: { prefix: WASMCUSTOM., ignore_case: true }",
        '      buckets: ["0.25", 2.5]',
        "    - match: { suffix: _ms }",
        "      buckets: [1]",
        "    - match: { contains: grpc }",
        "      buckets: [3600000]",
        "    - match: { safe_regex: { regex: 'cluster\\..*' } }",
        "      buckets: [0.001]",
      ].join("\n"),
    );
    expect(b.stats.histogramBucketSettings).toEqual([
      { match: { exact: "wasmcustom.a", ignoreCase: false }, buckets: [1, 5, 10] },
      { match: { prefix: "WASMCUSTOM.", ignoreCase: true }, buckets: [0.25, 2.5] },
      { match: { suffix: "_ms", ignoreCase: false }, buckets: [1] },
      { match: { contains: "grpc", ignoreCase: false }, buckets: [3600000] },
      { match: { safeRegex: "cluster\\..*", ignoreCase: false }, buckets: [0.001] },
    ]);
  });

  it("takes the JSON form with camelCase names", () => {
    const json = JSON.stringify({
      statsConfig: { histogramBucketSettings: [{ match: { prefix: "wasmcustom" }, buckets: [1, 2] }] },
      staticResources: { clusters: [] },
    });
    expect(parse(json, "json").stats.histogramBucketSettings).toEqual([
      { match: { prefix: "wasmcustom", ignoreCase: false }, buckets: [1, 2] },
    ]);
  });

  it("defaults to no rules", () => {
    expect(parseBootstrap(minimal, { sourceName: "envoy.yaml", baseDir: testdata, env: {} }).stats.histogramBucketSettings).toEqual([]);
  });

  const H = "stats_config.histogram_bucket_settings[0]";
  it.each([
    ["no match", "    - buckets: [1]", `3:7: ${H}.match: is required`],
    ["no buckets", "    - match: { prefix: a }", `3:7: ${H}.buckets: at least one bucket is required`],
    ["empty buckets", "    - match: { prefix: a }\n      buckets: []", `4:16: ${H}.buckets: at least one bucket is required`],
    ["a zero bucket", "    - match: { prefix: a }\n      buckets: [1, 0]", `4:20: ${H}.buckets[1]: must be greater than 0 (got 0)`],
    ["a negative bucket", "    - match: { prefix: a }\n      buckets: [-5]", `4:17: ${H}.buckets[0]: must be greater than 0 (got -5)`],
    ["a repeated bucket", "    - match: { prefix: a }\n      buckets: [5, 1, 5]", `4:23: ${H}.buckets[2]: duplicate bucket 5 (buckets must be unique)`],
    ["a bucket that is not a number", "    - match: { prefix: a }\n      buckets: [fast]", `4:17: ${H}.buckets[0]: expected number`],
    ["buckets not a list", "    - match: { prefix: a }\n      buckets: 5", `4:16: ${H}.buckets: expected list`],
    ["an empty matcher", "    - match: {}\n      buckets: [1]", `3:14: ${H}.match.exact: one of exact, prefix, suffix, contains or safe_regex is required`],
    ["two patterns", "    - match: { prefix: a, suffix: b }\n      buckets: [1]", `3:27: ${H}.match.suffix: only one of prefix, suffix may be set`],
    ["an empty prefix", "    - match: { prefix: '' }\n      buckets: [1]", `3:24: ${H}.match.prefix: must not be empty`],
    ["a bad regex", "    - match: { safe_regex: { regex: 'a(' } }\n      buckets: [1]", `3:37: ${H}.match.safe_regex.regex: invalid regex`],
    ["ignore_case with a regex", "    - match: { safe_regex: { regex: a }, ignore_case: true }\n      buckets: [1]", `3:42: ${H}.match.ignore_case: ignore_case has no effect for safe_regex`],
    ["a custom matcher", "    - match: { custom: { name: x } }\n      buckets: [1]", `3:16: ${H}.match.custom: not supported by the local sidecar`],
    ["an unknown field", "    - match: { prefix: a }\n      buckets: [1]\n      bins: 100", `5:7: ${H}.bins: unknown field`],
  ])("rejects %s", (_name, rule, expected) => {
    const errors = errorsOf(`  histogram_bucket_settings:\n${rule}`);
    expect(errors[0]).toMatch(new RegExp(`^${expected.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));
  });

  it("stats_matcher is reported as not supported, naming its path", () => {
    expect(errorsOf("  stats_matcher: { reject_all: true }")[0]).toBe("2:3: stats_config.stats_matcher: not supported by the local sidecar");
  });

  it("a stats_tags regex longer than Envoy's 1024 bytes is rejected", () => {
    const long = "a".repeat(1025);
    expect(errorsOf(`  stats_tags:\n    - tag_name: t\n      regex: "(${long})"`)[0]).toMatch(
      /^4:14: stats_config\.stats_tags\[0\]\.regex: must be at most 1024 bytes/,
    );
  });
});
