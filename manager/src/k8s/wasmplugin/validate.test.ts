import { describe, expect, it } from "vitest";
import { ISTIO_API_VERSION, ISTIO_EXTENSION_CRDS, ManifestError, readPluginManifests, evaluateRule } from "./index.ts";
import type { JsonSchema } from "../crds/types.ts";

const FILE = "plugins/p.yaml";
const base = `apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata:
  name: guard
  namespace: payments
spec:
  url: oci://registry.example.com/filters/guard:1.0
`;

function errorOf(text: string): string {
  try {
    readPluginManifests(text, FILE, "default");
  } catch (e) {
    expect(e).toBeInstanceOf(ManifestError);
    return (e as Error).message;
  }
  throw new Error("expected a validation error");
}

describe("readPluginManifests", () => {
  it("reads a complete WasmPlugin into the model with the API's defaults", () => {
    const [p] = readPluginManifests(`${base}  sha256: ${"a".repeat(64)}
  phase: AUTHZ
  priority: 10
  failStrategy: FAIL_OPEN
  pluginName: guard_root
  pluginConfig: { deny: x-debug, limits: { count: 3 } }
  selector: { matchLabels: { app: checkout } }
  match: [{ mode: SERVER, ports: [{ number: 8080 }] }]
  vmConfig: { env: [{ name: POD, valueFrom: HOST }, { name: LEVEL, value: debug }] }
`, FILE, "default");
    expect(p).toMatchObject({
      kind: "WasmPlugin", name: "guard", namespace: "payments", phase: "AUTHZ", priority: 10, failStrategy: "FAIL_OPEN",
      pluginName: "guard_root", pluginConfig: { deny: "x-debug", limits: { count: 3 } }, selector: { app: "checkout" },
      match: [{ mode: "SERVER", ports: [8080] }], env: [{ name: "POD", valueFrom: "HOST", value: "" }, { name: "LEVEL", valueFrom: "INLINE", value: "debug" }],
      imagePullPolicy: "UNSPECIFIED_POLICY", type: "UNSPECIFIED_PLUGIN_TYPE", source: `${FILE}:1:1`,
    });
    const [d] = readPluginManifests(base.replace("  namespace: payments\n", ""), FILE, "default");
    expect(d).toMatchObject({ namespace: "default", phase: "UNSPECIFIED_PHASE", priority: null, failStrategy: "FAIL_CLOSE", pluginName: "", targetRefs: [] });
    expect(d!.selector).toBeUndefined();
  });

  it("skips documents of other kinds and empty documents", () => {
    const text = `---\napiVersion: v1\nkind: ConfigMap\nmetadata: { name: x }\n---\n${base}---\n`;
    expect(readPluginManifests(text, FILE, "default").map((p) => p.name)).toEqual(["guard"]);
  });

  it.each([
    ["a missing url", base.replace(/  url: .*\n/, "  phase: AUTHN\n"), /^plugins\/p\.yaml:7:3: spec\.url: Required value$/],
    ["an unknown field, at its key", `${base}  colour: blue\n`, /^plugins\/p\.yaml:8:3: spec\.colour: unknown field$/],
    ["a bad enum", `${base}  phase: LATE\n`, /^plugins\/p\.yaml:8:10: spec\.phase: Unsupported value: "LATE": supported values: "UNSPECIFIED_PHASE", "AUTHN", "AUTHZ", "STATS"$/],
    ["a bad sha256", `${base}  sha256: ABC\n`, /:8:11: spec\.sha256: Invalid value: "ABC": should match '\(\^\$\|\^\[a-f0-9\]\{64\}\$\)'$/],
    ["a port out of range", `${base}  match: [{ ports: [{ number: 70000 }] }]\n`, /:8:31: spec\.match\[0\]\.ports\[0\]\.number: Invalid value: 70000: should be less than or equal to 65535$/],
    ["a duplicate list-map key", `${base}  vmConfig: { env: [{ name: A }, { name: A }] }\n`, /spec\.vmConfig\.env\[1\]: Duplicate value: \{"name":"A"\}$/],
    ["a priority of the wrong type", `${base}  priority: high\n`, /spec\.priority: Invalid value: "high": must be of type integer$/],
    ["a priority beyond int32", `${base}  priority: 3000000000\n`, /spec\.priority: Invalid value: 3000000000: must fit in a 32-bit integer$/],
    ["the CEL URL rule", base.replace("oci://registry.example.com/filters/guard:1.0", "ftp://example.com/x.wasm"), /:7:8: spec\.url: Invalid value: "ftp:\/\/example\.com\/x\.wasm": url must have schema one of \[http, https, file, oci\]$/],
    ["the CEL selector/targetRefs rule", `${base}  selector: { matchLabels: { a: b } }\n  targetRefs: [{ kind: Gateway, name: gw }]\n`, /:7:3: spec: Invalid value: "object": only one of targetRefs or selector can be set$/],
    ["the CEL env rule", `${base}  vmConfig: { env: [{ name: A, valueFrom: HOST, value: x }] }\n`, /spec\.vmConfig\.env\[0\]: Invalid value: "object": value may only be set when valueFrom is INLINE$/],
    ["a wildcard label value", `${base}  selector: { matchLabels: { app: "*" } }\n`, /spec\.selector\.matchLabels\[app\]: Invalid value: "\*": wildcard not allowed in label value match$/],
    ["an invalid name", base.replace("name: guard", "name: Guard_1"), /:4:9: metadata\.name: Invalid value: "Guard_1": a lowercase RFC 1123 subdomain/],
    ["an unknown metadata field", base.replace("  name: guard\n", "  name: guard\n  colour: x\n"), /:5:3: metadata\.colour: unknown field$/],
    ["a missing spec", "apiVersion: extensions.istio.io/v1alpha1\nkind: WasmPlugin\nmetadata: { name: a }\n", /:1:1: spec: Required value$/],
    ["an unserved version", base.replace("v1alpha1", "v9"), /apiVersion: Unsupported value: "extensions\.istio\.io\/v9": served versions: extensions\.istio\.io\/v1alpha1$/],
    ["malformed YAML", `${base}  phase: [AUTHN\n`, /^plugins\/p\.yaml:\d+:\d+: /],
    ["a duplicate key", `${base}  url: oci://x/y:1\n`, /^plugins\/p\.yaml:8:3: Map keys must be unique/],
  ])("rejects %s with file:line:col and the field path", (_what, text, message) => {
    const m = errorOf(text);
    expect(m).toMatch(message);
    expect(m.split("\n")).toHaveLength(1);
  });

  it("counts further problems in the one line", () => {
    expect(errorOf(`${base}  phase: LATE\n  colour: x\n`)).toMatch(/\(and 1 more\)$/);
  });

  it("reads YAML 1.1 scalars as kubectl does (yes is a boolean, and so is the key n)", () => {
    expect(errorOf(`${base}  pluginName: yes\n`)).toMatch(/spec\.pluginName: Invalid value: true: must be of type string$/);
    expect(readPluginManifests(`${base}  pluginConfig: { n: 1 }\n`, FILE, "default")[0]!.pluginConfig).toEqual({ false: 1 });
  });

  it("reads a Wasm TrafficExtension and refuses a Lua one", () => {
    const te = `apiVersion: extensions.istio.io/v1alpha1\nkind: TrafficExtension\nmetadata: { name: t }\nspec:\n  phase: STATS\n  priority: 5\n  wasm: { url: "file:///tmp/x.wasm", pluginConfig: { a: 1 } }\n`;
    expect(readPluginManifests(te, FILE, "ns")[0]).toMatchObject({ kind: "TrafficExtension", phase: "STATS", priority: 5, url: "file:///tmp/x.wasm", pluginConfig: { a: 1 } });
    expect(errorOf(te.replace(/  wasm: .*\n/, "  lua: { inlineCode: x }\n"))).toMatch(/spec\.lua: a Lua TrafficExtension is not supported/);
    expect(errorOf(te.replace(/  wasm: .*\n/, ""))).toMatch(/:5:3: spec: Invalid value: "object": (exactly one of wasm or lua must be set|must validate one and only one schema)/);
  });
});

describe("the vendored CRDs", () => {
  it(`come from istio.io/api ${ISTIO_API_VERSION} and every CEL rule in them compiles and runs`, () => {
    expect(ISTIO_API_VERSION).toMatch(/^v1\.\d+\.\d+/);
    expect(Object.keys(ISTIO_EXTENSION_CRDS)).toContain("WasmPlugin");
    const rules: string[] = [];
    const walk = (s: JsonSchema): void => {
      for (const r of s["x-kubernetes-validations"] ?? []) rules.push(r.rule);
      for (const sub of [...Object.values(s.properties ?? {}), ...(s.items ? [s.items] : []), ...(typeof s.additionalProperties === "object" ? [s.additionalProperties] : [])]) walk(sub);
    };
    for (const crd of Object.values(ISTIO_EXTENSION_CRDS)) for (const v of crd.versions) walk(v.schema);
    expect(rules.length).toBeGreaterThanOrEqual(6);
    for (const rule of rules) expect(String(evaluateRule({ rule }, {})), rule).not.toMatch(/does not compile/);
  });
});
