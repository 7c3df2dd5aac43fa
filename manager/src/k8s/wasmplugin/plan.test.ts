import { describe, expect, it } from "vitest";
import { envoyPluginConfig, planFilterChain, readPluginManifests, structJson, type ExtensionPlugin, type ListenerInfo, type Workload } from "./index.ts";

function plugin(name: string, spec: string, namespace = "app"): ExtensionPlugin {
  const text = `apiVersion: extensions.istio.io/v1alpha1\nkind: WasmPlugin\nmetadata: { name: ${name}, namespace: ${namespace} }\nspec:\n  url: file:///x.wasm\n${spec}`;
  return readPluginManifests(text, `${name}.yaml`, "app")[0]!;
}

const workload: Workload = { namespace: "app", labels: { app: "checkout", version: "v2" } };
const inbound: ListenerInfo = { class: "SIDECAR_INBOUND", port: 8080 };
const names = (list: ExtensionPlugin[]) => list.map((p) => p.name);

describe("planFilterChain", () => {
  it("orders by phase AUTHN, AUTHZ, STATS, unspecified, then priority highest first, unset last", () => {
    const list = [
      plugin("stats-low", "  phase: STATS\n  priority: 1\n"),
      plugin("none", ""),
      plugin("authz", "  phase: AUTHZ\n"),
      plugin("stats-high", "  phase: STATS\n  priority: 100\n"),
      plugin("authn", "  phase: AUTHN\n  priority: -5\n"),
      plugin("stats-unset", "  phase: STATS\n"),
      plugin("stats-negative", "  phase: STATS\n  priority: -2147483647\n"),
    ];
    expect(names(planFilterChain(list, workload, inbound))).toEqual(["authn", "authz", "stats-high", "stats-low", "stats-negative", "stats-unset", "none"]);
  });

  it("breaks ties by creation time, then name, and puts the workload's namespace before the root namespace", () => {
    const list = [
      plugin("b", "  priority: 5\n"),
      plugin("a-root", "  priority: 5\n", "istio-system"),
      plugin("a", "  priority: 5\n"),
      { ...plugin("z-old", "  priority: 5\n"), createdAt: -1 },
      plugin("elsewhere", "", "other"),
    ];
    expect(names(planFilterChain(list, workload, inbound))).toEqual(["z-old", "a", "b", "a-root"]);
  });

  it("applies selectors to the workload labels and never places targetRefs plugins or NETWORK plugins", () => {
    const list = [
      plugin("match", "  selector: { matchLabels: { app: checkout } }\n"),
      plugin("mismatch", "  selector: { matchLabels: { app: cart } }\n"),
      plugin("partial", "  selector: { matchLabels: { app: checkout, version: v1 } }\n"),
      plugin("empty-selector", "  selector: {}\n"),
      plugin("gateway", "  targetRefs: [{ kind: Gateway, name: gw }]\n"),
      plugin("network", "  type: NETWORK\n"),
    ];
    expect(names(planFilterChain(list, workload, inbound))).toEqual(["empty-selector", "match"]);
  });

  it("matches modes and ports as istiod does", () => {
    const list = [
      plugin("server-8080", "  match: [{ mode: SERVER, ports: [{ number: 8080 }] }]\n"),
      plugin("server-9090", "  match: [{ mode: SERVER, ports: [{ number: 9090 }] }]\n"),
      plugin("client", "  match: [{ mode: CLIENT }]\n"),
      plugin("both-9090-or-client", "  match: [{ mode: CLIENT }, { ports: [{ number: 9090 }] }]\n"),
      plugin("any", "  match: [{ mode: CLIENT_AND_SERVER }]\n"),
    ];
    expect(names(planFilterChain(list, workload, inbound))).toEqual(["any", "server-8080"]);
    expect(names(planFilterChain(list, workload, { class: "SIDECAR_OUTBOUND", port: 9090 }))).toEqual(["any", "both-9090-or-client", "client"]);
    expect(names(planFilterChain(list, workload, { class: "GATEWAY", port: 1 }))).toEqual(["any", "both-9090-or-client", "client"]);
    expect(names(planFilterChain(list, workload, { class: "UNDEFINED", port: 0 }))).toHaveLength(5);
  });
});

describe("envoyPluginConfig", () => {
  it("is istiod's ECDS resource: name, root_id, JSON StringValue, env, failure policy", () => {
    const p = plugin("guard", "  pluginName: guard_root\n  failStrategy: FAIL_OPEN\n  pluginConfig: { z: 1, a: { list: [true, null], b: x } }\n  vmConfig: { env: [{ name: POD, valueFrom: HOST }, { name: A, value: b }] }\n");
    const c = envoyPluginConfig(p);
    expect({ ...c, configuration: new TextDecoder().decode(c.configuration) }).toEqual({
      name: "app.guard", rootId: "guard_root", vmId: "", configuration: '{"a":{"b":"x","list":[true,null]},"z":1}',
      keyValues: { A: "b" }, hostEnvKeys: ["POD"], failurePolicy: "FAIL_OPEN",
    });
    expect(envoyPluginConfig(plugin("d", "")).failurePolicy).toBe("FAIL_CLOSED");
    expect(envoyPluginConfig(plugin("d", "  pluginConfig: {}\n")).configuration).toHaveLength(0);
    expect(structJson({ b: 1.5, a: "é\n" })).toBe('{"a":"é\\n","b":1.5}');
  });
});
