/**
 * deploy/istio's grpc-metrics snippets agree with the filter and with Istio:
 *  - the WasmPlugin validates against the real Istio CRD (schema and CEL rules) and the filter
 *    accepts its pluginConfig;
 *  - the extraStatTags (mesh config and pod annotation) are the filter's labels, and with the
 *    regexes Istio generates for them every metric the filter defines turns into a clean family
 *    with exactly those labels;
 *  - the statsHistogramBuckets key is a prefix of the filter's latency histograms' full names and
 *    of nothing else the filter defines;
 *  - the Telemetry's CEL expressions parse and read the filter state the filter sets.
 */
import { readFile } from "node:fs/promises";
import { evaluate } from "@marcbachmann/cel-js";
import { parse as parseYaml, parseAllDocuments } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { readPluginManifests } from "../../manager/src/k8s/wasmplugin/index.ts";
import { buildTagExtractors } from "../../manager/src/sidecar/stats/tag-extractor.ts";
import { prometheusMetricName } from "../../manager/src/sidecar/stats/render-prometheus.ts";
import { filterState, filterWasm, loadFilter, unary, open, requestHeaders, OK_HEADERS, type Loaded } from "../../filters/grpc-metrics/test/host-harness.ts";

const dir = "deploy/istio";
const read = (f: string) => readFile(`${dir}/${f}`, "utf8");
const GRPC_LABELS = ["grpc_type", "grpc_service", "grpc_method", "grpc_code"];

/** Every stat name the filter defined, after traffic that touches each family. */
async function definedNames(config: object): Promise<{ loaded: Loaded; names: string[] }> {
  const loaded = await loadFilter(config);
  unary(loaded);
  unary(loaded, { status: "7", direction: 2 });
  const s = open(loaded.plugin);
  s.sendRequestHeaders(requestHeaders("/a.B/C"));
  s.sendResponseHeaders([...OK_HEADERS, ["grpc-status", "0"]], true);
  s.complete();
  const store = loaded.env.stats;
  return { loaded, names: [...store.counters(), ...store.gauges(), ...store.histograms()].map((x) => x.name) };
}

beforeAll(async () => {
  await filterWasm();
}, 120_000);

describe("deploy/istio for grpc-metrics", () => {
  it("the WasmPlugin is valid for Istio's CRD and its pluginConfig is accepted by the filter", async () => {
    const text = await read("grpc-metrics-wasmplugin.yaml");
    const [plugin] = readPluginManifests(text, `${dir}/grpc-metrics-wasmplugin.yaml`, "default");
    expect(plugin).toBeDefined();
    const doc = parseYaml(text) as { spec: { pluginConfig: object; phase: string; failStrategy: string } };
    expect(doc.spec.phase).toBe("STATS");
    expect(doc.spec.failStrategy).toBe("FAIL_OPEN");
    // Istio sends pluginConfig as JSON; the filter must accept it (loadFilter throws otherwise).
    const loaded = await loadFilter(doc.spec.pluginConfig);
    expect(filterState(unary(loaded), "grpc_method")).toBe("Unary");
  });

  it("extraStatTags are the filter's labels, and Istio's regexes for them give clean families", async () => {
    const mesh = parseYaml(await read("grpc-metrics-meshconfig.yaml")) as {
      spec: { meshConfig: { defaultConfig: { extraStatTags: string[]; proxyStatsMatcher: { inclusionPrefixes: string[] } } } };
    };
    const tags = mesh.spec.meshConfig.defaultConfig.extraStatTags;
    // One mesh-wide list for the three filters: grpc-metrics' labels, then grpc-auth's and grpc-balancer's.
    expect(tags).toEqual([...GRPC_LABELS, "auth_rule", "auth_decision", "cluster", "endpoint", "decision", "result"]);
    const pod = parseYaml(await read("grpc-metrics-pod-annotations.yaml")) as { spec: { template: { metadata: { annotations: Record<string, string> } } } };
    const annotations = pod.spec.template.metadata.annotations;
    expect(annotations["sidecar.istio.io/extraStatTags"]!.split(",")).toEqual(GRPC_LABELS);

    // Istio renders one stats_tags entry per extra tag: `(<tag>=\.=(.*?);\.;)`, default tags off.
    const extractors = buildTagExtractors({ useAllDefaultTags: false, statsTags: tags.map((t) => ({ tagName: t, regex: `(${t}=\\.=(.*?);\\.;)` })) });
    const { names } = await definedNames({});
    const families = new Set<string>();
    for (const name of names) {
      const { tagExtractedName, tags: found } = extractors.extract(name);
      const family = prometheusMetricName(tagExtractedName)!;
      families.add(family);
      for (const t of found) expect(GRPC_LABELS).toContain(t.name);
      expect(family).toMatch(/^grpc_(server|client|metrics)_[a-z_]+$/);
      // Every stat is kept by the stats matcher's inclusion prefix.
      expect(mesh.spec.meshConfig.defaultConfig.proxyStatsMatcher.inclusionPrefixes.some((p) => name.startsWith(p))).toBe(true);
    }
    expect([...families].sort()).toEqual(
      [
        "grpc_client_handled_total", "grpc_client_handling_milliseconds", "grpc_client_in_flight", "grpc_client_msg_received_bytes_total",
        "grpc_client_msg_received_total", "grpc_client_msg_sent_bytes_total", "grpc_client_msg_sent_total", "grpc_client_started_total",
        "grpc_metrics_client_other_rpcs_total", "grpc_metrics_frame_errors_total", "grpc_metrics_server_other_rpcs_total",
        "grpc_server_handled_total", "grpc_server_handling_milliseconds", "grpc_server_in_flight", "grpc_server_msg_received_bytes_total",
        "grpc_server_msg_received_total", "grpc_server_msg_sent_bytes_total", "grpc_server_msg_sent_total", "grpc_server_started_total",
      ].sort(),
    );
  });

  it("the statsHistogramBuckets key matches the filter's latency histograms", async () => {
    const pod = parseYaml(await read("grpc-metrics-pod-annotations.yaml")) as { spec: { template: { metadata: { annotations: Record<string, string> } } } };
    const buckets = JSON.parse(pod.spec.template.metadata.annotations["sidecar.istio.io/statsHistogramBuckets"]!) as Record<string, number[]>;
    const [prefix] = Object.keys(buckets);
    const { loaded } = await definedNames({});
    const histograms = loaded.env.stats.histograms().map((h) => h.name);
    expect(histograms.length).toBeGreaterThan(0);
    // Every histogram the filter defines (the latency ones) starts with the key; bucket settings
    // apply to histograms only, so counters sharing the prefix are unaffected.
    expect(histograms.map((h) => h.startsWith(prefix!))).toEqual(histograms.map(() => true));
    expect(histograms.every((h) => /handling_milliseconds$/.test(h))).toBe(true);
    const values = buckets[prefix!]!;
    expect(values).toEqual([...values].sort((a, b) => a - b));
    expect(values.every((v) => v > 0)).toBe(true);
  });

  it("the Telemetry reads the filter state the filter sets, with CEL that parses", async () => {
    const docs = parseAllDocuments(await read("grpc-metrics-telemetry.yaml")).map((d) => d.toJS()) as Array<{
      apiVersion: string;
      kind: string;
      spec: { metrics: Array<{ overrides: Array<{ match: { metric: string; mode: string }; tagOverrides: Record<string, { value: string }> }> }> };
    }>;
    expect(docs).toHaveLength(1);
    const telemetry = docs[0]!;
    expect([telemetry.apiVersion, telemetry.kind]).toEqual(["telemetry.istio.io/v1", "Telemetry"]);
    const overrides = telemetry.spec.metrics.flatMap((m) => m.overrides);
    expect(overrides.map((o) => o.match.metric)).toContain("REQUEST_COUNT");
    const loaded = await loadFilter({});
    const s = unary(loaded, { path: "/meshwasm.demo.v1.Echo/Unary" });
    const state = { "wasm.grpc_service": filterState(s, "grpc_service"), "wasm.grpc_method": filterState(s, "grpc_method") };
    for (const o of overrides) {
      expect(["REQUEST_COUNT", "REQUEST_DURATION"]).toContain(o.match.metric);
      expect(o.match.mode).toBe("CLIENT_AND_SERVER");
      for (const [tag, { value }] of Object.entries(o.tagOverrides)) {
        expect(["grpc_service", "grpc_method"]).toContain(tag);
        expect(evaluate(value, { filter_state: state })).toBe(tag === "grpc_method" ? "Unary" : "meshwasm.demo.v1.Echo");
      }
    }
  });
});
