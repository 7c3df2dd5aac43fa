/**
 * The WasmPlugin validation of manager/src/k8s agrees with the real API server (the test
 * kube-apiserver with the Istio CRDs of the same istio.io/api release): each manifest below is
 * server-side applied with dryRun (as `kubectl apply --server-side --dry-run=server`, which
 * refuses unknown fields), and our verdict (accepted, or the field path we name) must match the
 * server's (accepted, or a 422 naming that field).
 */
import { ApiException, KubernetesObjectApi, PatchStrategy, type KubernetesObject } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseManifests, readExtensionPlugin, ManifestError } from "../../manager/src/k8s/wasmplugin/index.ts";
import { kubeApiServerUnavailable, startKubeApiServer, type KubeApiServer } from "../support/kube-apiserver.ts";

const unavailable = kubeApiServerUnavailable();
const D = "a".repeat(64);

const CASES: Array<[string, string]> = [
  ["minimal", "url: oci://registry.example.com/f/guard:1.0"],
  ["everything", `url: oci://registry.example.com/f/guard@sha256:${D}\n  sha256: ${D}\n  phase: AUTHZ\n  priority: -3\n  failStrategy: FAIL_RELOAD\n  imagePullPolicy: Always\n  imagePullSecret: creds\n  pluginName: root\n  type: HTTP\n  pluginConfig: { a: [1, { b: null }] }\n  selector: { matchLabels: { app: checkout } }\n  match: [{ mode: SERVER, ports: [{ number: 8080 }, { number: 9090 }] }]\n  vmConfig: { env: [{ name: A, value: x }, { name: B, valueFrom: HOST }] }`],
  ["a URL without a scheme", "url: registry.example.com/f/guard:1.0"],
  ["host:port without a scheme", "url: localhost:5000/f/guard:1.0"],
  ["an ftp URL", "url: ftp://example.com/x.wasm"],
  ["an uppercase scheme", "url: HTTPS://example.com/x.wasm"],
  ["a URL with a space in the host", 'url: "http://exa mple.com/x.wasm"'],
  ["an empty url", 'url: ""'],
  ["a short sha256", "url: oci://r.example.com/f:1\n  sha256: abc"],
  ["an unknown field", "url: oci://r.example.com/f:1\n  colour: blue"],
  ["a bad phase", "url: oci://r.example.com/f:1\n  phase: LATE"],
  ["a string priority", "url: oci://r.example.com/f:1\n  priority: high"],
  ["port 0", "url: oci://r.example.com/f:1\n  match: [{ ports: [{ number: 0 }] }]"],
  ["duplicate ports", "url: oci://r.example.com/f:1\n  match: [{ ports: [{ number: 80 }, { number: 80 }] }]"],
  ["a HOST env with a value", "url: oci://r.example.com/f:1\n  vmConfig: { env: [{ name: A, valueFrom: HOST, value: x }] }"],
  ["duplicate env names", "url: oci://r.example.com/f:1\n  vmConfig: { env: [{ name: A }, { name: A }] }"],
  ["selector and targetRefs", "url: oci://r.example.com/f:1\n  selector: { matchLabels: { a: b } }\n  targetRefs: [{ kind: Gateway, name: gw }]"],
  ["a wildcard label", 'url: oci://r.example.com/f:1\n  selector: { matchLabels: { app: "x*" } }'],
  ["a cross-namespace targetRef", "url: oci://r.example.com/f:1\n  targetRefs: [{ kind: Gateway, name: gw, namespace: other }]"],
  ["17 targetRefs", `url: oci://r.example.com/f:1\n  targetRefs: [${Array.from({ length: 17 }, (_, i) => `{ kind: Gateway, name: g${i} }`).join(", ")}]`],
  ["a bad label in metadata", "url: oci://r.example.com/f:1\n  phase: AUTHN", ],
  ["a too long pluginName", `url: oci://r.example.com/f:1\n  pluginName: ${"p".repeat(257)}`],
];

function manifest(name: string, spec: string): string {
  const labels = name === "a-bad-label-in-metadata" ? "  labels: { team: \"-core\" }\n" : "";
  return `apiVersion: extensions.istio.io/v1alpha1\nkind: WasmPlugin\nmetadata:\n  name: ${name}\n  namespace: default\n${labels}spec:\n  ${spec}\n`;
}

/** Our verdict: null when accepted, else the field path we name. */
function ours(text: string): string | null {
  try {
    readExtensionPlugin(parseManifests(text, "p.yaml")[0]!, "default");
    return null;
  } catch (e) {
    if (!(e instanceof ManifestError)) throw e;
    return e.fieldPath;
  }
}

describe.skipIf(Boolean(unavailable))(`our WasmPlugin validation vs the real API server${unavailable ? ` (skipped: ${unavailable})` : ""}`, () => {
  let server: KubeApiServer;
  let objects: KubernetesObjectApi;

  beforeAll(async () => {
    server = await startKubeApiServer();
    objects = KubernetesObjectApi.makeApiClient(server.kubeConfig);
  }, 600_000);

  afterAll(async () => {
    await server?.stop();
  });

  /** The server's verdict: null when accepted, else its message (422). */
  async function theirs(text: string): Promise<string | null> {
    const body = parseManifests(text, "p.yaml")[0]!.value as KubernetesObject;
    try {
      await objects.patch(body, undefined, "All", "meshwasm-conformance", true, PatchStrategy.ServerSideApply);
      return null;
    } catch (e) {
      if (!(e instanceof ApiException)) throw e;
      const parsed = typeof e.body === "string" ? (JSON.parse(e.body) as { message?: string }) : (e.body as { message?: string });
      return `${e.code}: ${parsed?.message ?? String(e.body)}`;
    }
  }

  it.each(CASES)("%s", async (what, spec) => {
    const text = manifest(what.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, ""), spec);
    const mine = ours(text);
    const server = await theirs(text);
    if (mine === null) expect(server, `we accept ${what}`).toBeNull();
    else {
      expect(server, `we reject ${what} at ${mine}`).not.toBeNull();
      // The server names the same field (it leaves out a trailing list index).
      expect(server).toContain(`${mine.replace(/\[\d+\]$/, "")}`);
    }
  }, 30_000);
});
