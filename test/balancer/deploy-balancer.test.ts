/**
 * deploy/'s grpc-balancer pieces agree with the filter, with each other and with Envoy's
 * configuration model (the real API server checks them as Kubernetes objects in
 * test/deploy/manifests.test.ts):
 *  - every pluginConfig (config/grpc-balancer*.json, the WasmPlugins' pluginConfig) is accepted by
 *    the built filter in the proxy-wasm host, and each hand-written WasmPlugin carries its file;
 *  - session-header mode: the Service label names the header the filter writes;
 *  - override_host mode: the EnvoyFilter's cluster patch, applied to a cluster, is an override_host
 *    policy reading the header the filter writes, with LEAST_REQUEST (choice_count 2) as fallback,
 *    on the Istio cluster the filter's `clusters` names;
 *  - the extraStatTags annotation repeats the mesh-wide list, which holds the filter's labels, and with Istio's
 *    regexes every metric the filter defines becomes a clean grpc_balancer_* family.
 */
import { readFile } from "node:fs/promises";
import { parseAllDocuments } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { parseBootstrap } from "../../manager/src/sidecar/config/parse-bootstrap.ts";
import { buildTagExtractors } from "../../manager/src/sidecar/stats/tag-extractor.ts";
import { prometheusMetricName } from "../../manager/src/sidecar/stats/render-prometheus.ts";
import { filterWasm, loadBalancer, rpc, warm } from "../../filters/grpc-balancer/test/host-harness.ts";

type Doc = { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string> }; spec: Record<string, any> };
const docs = async (file: string): Promise<Doc[]> => parseAllDocuments(await readFile(`deploy/${file}`, "utf8")).map((d) => d.toJS() as Doc);
const json = async (file: string): Promise<Record<string, any>> => JSON.parse(await readFile(`deploy/${file}`, "utf8"));
const BALANCER_LABELS = ["cluster", "endpoint", "decision", "result"];
const METRICS_LABELS = ["grpc_type", "grpc_service", "grpc_method", "grpc_code"];

beforeAll(async () => {
  await filterWasm();
}, 180_000);

describe("deploy/ for grpc-balancer", () => {
  it("every pluginConfig is accepted by the filter, and the WasmPlugins carry the config files", async () => {
    const session = await json("config/grpc-balancer.json");
    const override = await json("config/grpc-balancer-override-host.json");
    const [sessionPlugin] = await docs("istio/grpc-balancer-wasmplugin.yaml");
    const overridePlugin = (await docs("istio/grpc-balancer-override-host.yaml")).find((d) => d.kind === "WasmPlugin")!;
    expect(sessionPlugin!.spec.pluginConfig).toEqual(session);
    expect(overridePlugin.spec.pluginConfig).toEqual(override);
    for (const [config, mode] of [[session, "session"], [override, "override"]] as const) {
      const l = await loadBalancer(config); // throws when the filter refuses the configuration
      expect(l.mode).toBe(mode);
      // The filter balances the named cluster and leaves others to Envoy.
      const cluster = config.clusters[0] as string;
      warm(l, ["10.0.0.1:9000", "10.0.0.2:9000"], cluster);
      l.env.clock.advance(100);
      let steered = 0;
      for (let i = 0; i < 40; i++) if (rpc(l, { cluster, fallback: "10.0.0.1:9000", latencyMs: 1 }).header !== undefined) steered++;
      expect(steered).toBeGreaterThan(30);
      expect(rpc(l, { cluster: "outbound|8080||other.shop.svc.cluster.local", fallback: "10.0.0.9:8080" }).header).toBeUndefined();
    }
    for (const p of [sessionPlugin!, overridePlugin]) {
      expect(p.spec).toMatchObject({ phase: "UNSPECIFIED_PHASE", match: [{ mode: "CLIENT" }] });
      expect(p.spec.pluginConfig.discovery.cluster).toBe("prometheus_stats"); // Istio's bootstrap cluster to the admin port
    }
  });

  it("session-header mode: the Service label names the header the filter writes", async () => {
    const session = await json("config/grpc-balancer.json");
    const [service] = await docs("istio/grpc-balancer-session-header.yaml");
    expect(service!.kind).toBe("Service");
    expect(service!.metadata.labels!["istio.io/persistent-session-header"]).toBe(session.header);
    expect(session.clusters).toEqual([`outbound|${service!.spec.ports[0].port}||${service!.metadata.name}.shop.svc.cluster.local`]);
  });

  it("override_host mode: the EnvoyFilter makes the filter's cluster an override_host cluster on its header, LEAST_REQUEST behind it", async () => {
    const override = await json("config/grpc-balancer-override-host.json");
    const all = await docs("istio/grpc-balancer-override-host.yaml");
    const ef = all.find((d) => d.kind === "EnvoyFilter")!;
    const plugin = all.find((d) => d.kind === "WasmPlugin")!;
    expect(ef.spec.workloadSelector.labels).toEqual(plugin.spec.selector.matchLabels);
    const [patch] = ef.spec.configPatches as Array<{ applyTo: string; match: { context: string; cluster: { service: string; portNumber: number } }; patch: { operation: string; value: Record<string, unknown> } }>;
    expect([patch!.applyTo, patch!.match.context, patch!.patch.operation]).toEqual(["CLUSTER", "SIDECAR_OUTBOUND", "MERGE"]);
    const clusterName = `outbound|${patch!.match.cluster.portNumber}||${patch!.match.cluster.service}`;
    expect(override.clusters).toEqual([clusterName]);
    // Istio's cluster for the Service (LEAST_REQUEST, EDS endpoints: a static one here) with the patch merged in.
    const merged = {
      name: clusterName,
      type: "STATIC",
      connect_timeout: "1s",
      lb_policy: "LEAST_REQUEST",
      load_assignment: { cluster_name: clusterName, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: "10.0.0.1", port_value: 9000 } } } }] }] },
      ...patch!.patch.value,
    };
    const bootstrap = parseBootstrap(JSON.stringify({ static_resources: { clusters: [merged] } }), { sourceName: "merged.json", baseDir: "." });
    const c = bootstrap.clusters[0]!;
    expect(c.overrideHost?.headers).toEqual([override.header]);
    expect(c.overrideHost?.fallback).toMatchObject({ kind: "LEAST_REQUEST", choiceCount: 2 });
  });

  it("extraStatTags hold the filter's labels, and Istio's regexes for them give clean grpc_balancer_* families", async () => {
    const [deployment] = await docs("istio/grpc-balancer-stats.yaml");
    const tags = (deployment!.spec.template.metadata.annotations["sidecar.istio.io/extraStatTags"] as string).split(",");
    // The annotation replaces the mesh-wide list: it repeats it, which names the filter's labels.
    const [mesh] = await docs("istio/grpc-metrics-meshconfig.yaml");
    expect(tags).toEqual(mesh!.spec.meshConfig.defaultConfig.extraStatTags);
    expect(tags).toEqual(expect.arrayContaining([...METRICS_LABELS, ...BALANCER_LABELS]));
    const l = await loadBalancer({ explore_share: 0, clusters: ["outbound|9000||inventory.shop.svc.cluster.local"], discovery: { cluster: "prometheus_stats" } });
    const cluster = "outbound|9000||inventory.shop.svc.cluster.local";
    warm(l, ["10.0.0.1:9000", "10.0.0.2:9000"], cluster);
    for (let i = 0; i < 10; i++) rpc(l, { cluster, fallback: "10.0.0.1:9000", latencyMs: 2 });
    rpc(l, { cluster, fallback: "10.0.0.1:9000", status: 14 });
    l.env.clock.advance(200);
    const extractors = buildTagExtractors({ useAllDefaultTags: false, statsTags: tags.map((t) => ({ tagName: t, regex: `(${t}=\\.=(.*?);\\.;)` })) });
    const families = new Map<string, Set<string>>();
    for (const s of [...l.env.stats.counters(), ...l.env.stats.gauges()]) {
      const { tagExtractedName, tags: found } = extractors.extract(s.name);
      const family = prometheusMetricName(tagExtractedName)!;
      expect(family, s.name).toMatch(/^grpc_balancer_[a-z_]+$/);
      const labels = families.get(family) ?? new Set<string>();
      for (const t of found) labels.add(t.name);
      families.set(family, labels);
      if (family === "grpc_balancer_picks_total") expect(Object.fromEntries(found.map((t) => [t.name, t.value]))).toMatchObject({ cluster: "outbound_9000__inventory.shop.svc.cluster.local" });
    }
    expect(Object.fromEntries([...families].map(([f, ls]) => [f, [...ls].sort()]))).toEqual({
      grpc_balancer_rpcs_total: ["decision"],
      grpc_balancer_picks_total: ["cluster", "endpoint"],
      grpc_balancer_penalties_total: ["cluster", "endpoint"],
      grpc_balancer_endpoint_cost: ["cluster", "endpoint"],
      grpc_balancer_endpoint_in_flight: ["cluster", "endpoint"],
      grpc_balancer_endpoints: ["cluster"],
      grpc_balancer_discovery_total: ["result"],
      grpc_balancer_fold_conflicts_total: [],
      grpc_balancer_events_dropped_total: [],
    });
  });
});
