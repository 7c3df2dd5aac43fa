import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { readDeployConfig } from "./config.ts";
import { loadDeployment } from "./load.ts";
import { objectYaml, yamlStream } from "./output.ts";

const D1 = "1".repeat(64);
const D2 = "2".repeat(64);
let dir: string;

const base = (extra = "", plugins = "") => `apiVersion: meshwasm/v1alpha1
kind: PluginDeployment
namespace: payments
selector: { app: checkout }
imagePullSecret: registry-creds
${extra}plugins:
  - filter: grpc-metrics
    image: registry.example.com/meshwasm/grpc-metrics@sha256:${D1}
    pluginConfig: { max_methods: 200, methods: ["meshwasm.demo.v1.Echo/*"], schema: grpc }
${plugins}`;

async function load(text: string, opts: Parameters<typeof loadDeployment>[1] = {}) {
  const file = path.join(dir, `d-${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(file, text);
  return loadDeployment(file, { offline: true, ...opts });
}

async function errorOf(text: string, opts: Parameters<typeof loadDeployment>[1] = {}): Promise<string> {
  const e = await load(text, opts).then(() => undefined, (err: Error) => err);
  if (!e) throw new Error("expected an error");
  expect(e.message.split("\n")).toHaveLength(1);
  return e.message;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "meshwasm-render-"));
  await writeFile(path.join(dir, "metrics.yaml"), "max_methods: 50\nside: server\n");
  await writeFile(path.join(dir, "broken.json"), '{"max_methods": 5,\n  "side": }\n');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("meshwasm render", () => {
  it("pins the url by manifest digest, places each filter by its defaults, and sorts objects and pluginConfig keys", async () => {
    const { rendered, config } = await load(base("", `  - filter: grpc-balancer\n    image: oci://registry.example.com/meshwasm/grpc-balancer@sha256:${D2}\n`));
    expect(config.istioVersion.minor).toBe(32);
    expect(rendered.map((r) => r.object.metadata.name)).toEqual(["grpc-balancer", "grpc-metrics"]);
    const metrics = rendered[1]!.object;
    expect(metrics.spec).toEqual({
      selector: { matchLabels: { app: "checkout" } },
      url: `oci://registry.example.com/meshwasm/grpc-metrics@sha256:${D1}`,
      sha256: D1,
      imagePullSecret: "registry-creds",
      phase: "STATS",
      priority: 1000,
      failStrategy: "FAIL_RELOAD",
      pluginConfig: { max_methods: 200, methods: ["meshwasm.demo.v1.Echo/*"], schema: "grpc" },
    });
    expect(Object.keys(metrics.spec.pluginConfig as object)).toEqual(["max_methods", "methods", "schema"]);
    expect(rendered[0]!.object.spec).toMatchObject({ phase: "UNSPECIFIED_PHASE", failStrategy: "FAIL_RELOAD" });
    expect(metrics.metadata.labels).toEqual({ "app.kubernetes.io/name": "grpc-metrics", "app.kubernetes.io/managed-by": "meshwasm", "meshwasm.io/plugin": "grpc-metrics" });
    expect(rendered[1]!.configSha256).toMatch(/^[a-f0-9]{64}$/);
    const text = yamlStream(rendered.map((r) => r.object));
    expect(text).not.toMatch(/resourceVersion|creationTimestamp|status:|uid:|generation/);
  });

  it("is deterministic: the same input renders byte-identical YAML whatever the key order of the file", async () => {
    const a = await load(base());
    const b = await load(base().replace("pluginConfig: { max_methods: 200, methods: [\"meshwasm.demo.v1.Echo/*\"], schema: grpc }", 'pluginConfig: { schema: grpc, methods: ["meshwasm.demo.v1.Echo/*"], max_methods: 200 }'));
    expect(yamlStream(b.rendered.map((r) => r.object))).toBe(yamlStream(a.rendered.map((r) => r.object)));
  });

  it("FAIL_OPEN before Istio 1.27 and FAIL_RELOAD from it; grpc-auth fails closed in AUTHZ", async () => {
    expect((await load(base(), { istioVersion: "1.26" })).rendered[0]!.object.spec.failStrategy).toBe("FAIL_OPEN");
    expect((await load(base(), { istioVersion: "1.27" })).rendered[0]!.object.spec.failStrategy).toBe("FAIL_RELOAD");
    const policy = path.resolve("filters/grpc-auth/examples/demo-policy.yaml");
    const auth = await load(base("", `  - filter: grpc-auth\n    image: r.example.com/a@sha256:${D2}\n    policy: ${policy}\n`));
    expect(auth.rendered[0]!.object.spec).toMatchObject({ phase: "AUTHZ", priority: 1000, failStrategy: "FAIL_CLOSE" });
    expect((auth.rendered[0]!.object.spec.pluginConfig as { policy: string }).policy).toBe("demo-inventory");
  });

  it("renders a TrafficExtension for Istio >= 1.30 (module fields under wasm, phase UNSPECIFIED) and refuses it before", async () => {
    const te = await load(base("resourceKind: TrafficExtension\n", `  - filter: grpc-balancer\n    image: r.example.com/b@sha256:${D2}\n`));
    expect(te.rendered[0]!.object).toMatchObject({ kind: "TrafficExtension", spec: { phase: "UNSPECIFIED", wasm: { url: `oci://r.example.com/b@sha256:${D2}`, failStrategy: "FAIL_RELOAD" } } });
    expect(te.models[0]!.kind).toBe("TrafficExtension");
    expect(te.models[0]!.phase).toBe("UNSPECIFIED_PHASE");
    expect(await errorOf(base("resourceKind: TrafficExtension\n"), { istioVersion: "1.29" })).toBe("kind TrafficExtension needs Istio >= 1.30; the target is Istio 1.29 (use WasmPlugin)");
  });

  it("validates against the real CRD of the targeted release: FAIL_RELOAD is refused by Istio 1.24's", async () => {
    const text = base().replace("    pluginConfig:", "    failStrategy: FAIL_RELOAD\n    pluginConfig:");
    expect(await errorOf(text, { istioVersion: "1.24" })).toMatch(/:7:5: plugins\[0\] \(grpc-metrics\): WasmPlugin payments\/grpc-metrics: spec\.failStrategy: Unsupported value: "FAIL_RELOAD": supported values: "FAIL_CLOSE", "FAIL_OPEN" \(istio\.io\/api v1\.24\.2 CRD\)$/);
    expect(await errorOf(text, { istioVersion: "1.26" })).toMatch(/spec\.failStrategy: FAIL_RELOAD needs Istio >= 1\.27; the target is Istio 1\.26$/);
    expect((await load(text, { istioVersion: "1.28" })).rendered[0]!.object.spec.failStrategy).toBe("FAIL_RELOAD");
  });

  it("the CRD's CEL rules: a selector with targetRefs, and a wildcard label value", async () => {
    const both = base("", "").replace("    pluginConfig:", "    targetRefs: [{ kind: Gateway, group: gateway.networking.k8s.io, name: edge }]\n    selector: { app: x }\n    pluginConfig:");
    expect(await errorOf(both)).toMatch(/plugins\[0\] \(grpc-metrics\): WasmPlugin payments\/grpc-metrics: spec: Invalid value: "object": only one of targetRefs or selector can be set$/);
    expect(await errorOf(base().replace("{ app: checkout }", '{ app: "*" }'))).toMatch(/spec\.selector\.matchLabels\[app\]: Invalid value: "\*": wildcard not allowed in label value match$/);
  });

  it("reads a configuration file (YAML or JSON) and reports a broken one at its line and column", async () => {
    const withFile = base().replace(/    pluginConfig: .*\n/, "    config: metrics.yaml\n");
    expect((await load(withFile)).rendered[0]!.object.spec.pluginConfig).toEqual({ max_methods: 50, side: "server" });
    const broken = await errorOf(base().replace(/    pluginConfig: .*\n/, "    config: broken.json\n"));
    expect(broken).toMatch(/broken\.json:2:11: not valid JSON: unexpected "}", expected a value$/);
    expect(await errorOf(base().replace(/    pluginConfig: .*\n/, "    config: missing.json\n"))).toMatch(/missing\.json: cannot read the configuration of .*: no such file$/);
  });

  it("--image replaces a plugin's image; --offline needs a digest", async () => {
    const r = await load(base(), { images: [`grpc-metrics=other.example.com/m@sha256:${D2}`] });
    expect(r.rendered[0]!.object.spec.url).toBe(`oci://other.example.com/m@sha256:${D2}`);
    expect(await errorOf(base(), { images: ["grpc-metrics=other.example.com/m:1.0"] })).toBe('--image grpc-metrics: "other.example.com/m:1.0" has no @sha256: digest, which --offline needs');
    expect(await errorOf(base(), { images: ["nope=x/y:1"] })).toMatch(/^--image nope: no plugin or filter of that name in .* \(grpc-metrics\)$/);
  });

  it("writes YAML 1.1 that kubectl reads back to the same object (strings that look like booleans stay strings)", async () => {
    const r = await load(base().replace("schema: grpc", 'schema: grpc, note: "yes", mode: "on", perm: "0777"'));
    const text = objectYaml(r.rendered[0]!.object);
    const back = parseAllDocuments(text, { version: "1.1" })[0]!.toJS();
    expect(back).toEqual(JSON.parse(JSON.stringify(r.rendered[0]!.object)));
  });
});

describe("the deployment file", () => {
  const file = "meshwasm.yaml";
  it.each([
    ["a wrong apiVersion", base().replace("meshwasm/v1alpha1", "meshwasm/v9"), /^meshwasm\.yaml:1:13: apiVersion: expected "meshwasm\/v1alpha1"$/],
    ["an unknown top-level field", `${base()}colour: blue\n`, /^meshwasm\.yaml:10:1: colour: unknown field \(expected one of /],
    ["a missing namespace", base().replace("namespace: payments\n", ""), /^meshwasm\.yaml:1:1: namespace: Required value$/],
    ["a bad namespace", base().replace("namespace: payments", "namespace: Pay_ments"), /^meshwasm\.yaml:3:12: namespace: "Pay_ments" is not a namespace name/],
    ["an unknown plugin field", base().replace("    pluginConfig:", "    colour: red\n    pluginConfig:"), /^meshwasm\.yaml:9:5: plugins\[0\]\.colour: unknown field/],
    ["a plugin without an image", base().replace(/    image: .*\n/, ""), /^meshwasm\.yaml:7:5: plugins\[0\]\.image: Required value$/],
    ["policy and pluginConfig together", base().replace("    pluginConfig:", "    config: x.json\n    pluginConfig:"), /plugins\[0\]\.pluginConfig: only one of policy, config and pluginConfig may be set \(also config\)$/],
    ["a policy for another filter", base().replace("    pluginConfig: { max_methods: 200, methods: [\"meshwasm.demo.v1.Echo/*\"], schema: grpc }", "    policy: p.yaml"), /plugins\[0\]\.policy: a policy is compiled for the grpc-auth filter only/],
    ["a bad phase", base().replace("    pluginConfig:", "    phase: LATE\n    pluginConfig:"), /^meshwasm\.yaml:9:12: plugins\[0\]\.phase: unsupported value "LATE": expected one of UNSPECIFIED_PHASE, AUTHN, AUTHZ, STATS$/],
    ["a port out of range", base().replace("    pluginConfig:", "    match: [{ mode: SERVER, ports: [70000] }]\n    pluginConfig:"), /plugins\[0\]\.match\[0\]\.ports\[0\]: 70000 is out of range \[1, 65535\]$/],
    ["two plugins with one name", base("", `  - filter: grpc-metrics\n    image: r/x@sha256:${D2}\n`), /^meshwasm\.yaml:10:5: plugins\[1\]\.name: plugin name "grpc-metrics" is already used by plugins\[0\]$/],
    ["an unsupported Istio", base("istioVersion: \"1.20\"\n"), /^meshwasm\.yaml:6:15: istioVersion: Istio 1\.20 is not supported/],
    ["a wave with both workloads and percent", `${base()}rollout:\n  waves: [{ name: canary, workloads: [a], percent: 10 }, { percent: 100 }]\n`, /rollout\.waves\[0\]: a wave names its workloads or gives a percent \(exactly one of them\)$/],
    ["waves that do not end at 100%", `${base()}rollout:\n  waves: [{ percent: 10 }, { percent: 50 }]\n`, /rollout\.waves\[1\]: the last wave must reach every workload \(percent: 100\)$/],
    ["shrinking waves", `${base()}rollout:\n  waves: [{ percent: 50 }, { percent: 25 }, { percent: 100 }]\n`, /rollout\.waves\[1\]\.percent: percent must grow from wave to wave/],
    ["a gate without prometheus", `${base()}rollout:\n  gate: { bake: 30s }\n`, /rollout\.gate\.prometheus: Required value$/],
    ["a bad bake time", `${base()}rollout:\n  gate: { prometheus: "http://p:9090", bake: soon }\n`, /rollout\.gate\.bake: expected a duration such as "30s"/],
    ["malformed YAML", `${base()}  - [\n`, /^meshwasm\.yaml:\d+:\d+: /],
  ])("refuses %s, in one line with file:line:col and the field path", (_what, text, pattern) => {
    let message = "";
    try {
      readDeployConfig(text, file);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(pattern);
    expect(message.split("\n")).toHaveLength(1);
  });

  it("reads waves and a gate with their defaults", () => {
    const c = readDeployConfig(`${base()}rollout:\n  waves: [{ name: canary, workloads: [checkout-canary] }, { percent: 25 }, { name: all, percent: 100 }]\n  gate: { prometheus: "http://prom:9090/", bake: 90s }\n`, file);
    expect(c.rollout).toEqual({
      waves: [{ name: "canary", workloads: ["checkout-canary"] }, { name: "wave-2", percent: 25 }, { name: "all", percent: 100 }],
      gate: { prometheus: "http://prom:9090", bakeMs: 90_000, maxErrorRatio: 0.01, minRequests: 1, namespaceLabel: "namespace", podLabel: "pod" },
      historyLimit: 10,
    });
  });
});
