/**
 * `imagePullSecret` with `--pull-secrets DIR`, end to end against the real registry with htpasswd
 * Basic auth and @grpc/grpc-js, as istiod + istio-agent resolve it: the Secret's credentials and
 * only those (a registry it does not list is pulled anonymously; the default keychain, docker's
 * config.json under DOCKER_CONFIG, is not consulted), a missing Secret refused before any lookup
 * or fetch ("missing image pulling secret", conversion fetch_failure, the failStrategy's RBAC
 * filter) even when the default keychain could pull, no Secret content in any log line; without
 * `--pull-secrets` the name is not resolved and the default keychain pulls. CLI option errors.
 */
import * as grpc from "@grpc/grpc-js";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { UserError } from "../../manager/src/errors.ts";
import { pushWasmImage } from "../../manager/src/oci/index.ts";
import { pluginsOptionsFrom } from "../../manager/src/sidecar/plugins/cli-options.ts";
import { startRegistry, toolGate, type TestRegistry } from "../support/registry.ts";
import { addHeaderWasm, call, orderConfig, startPluginHarness, wasmPluginYaml, type PluginHarness } from "./support.ts";

const gate = toolGate(["docker-registry"]);
const USER = "alice";
const PASSWORD = "wonderland-42";
const WRONG_PASSWORD = "not-the-password-9";
const NOT_JSON = "this is not json: secret-token-123";
const RESULTS = ["success", "download_failure", "manifest_failure", "checksum_mismatched", "fetch_failure"];

describe.skipIf(gate.skip)(`imagePullSecret with --pull-secrets${gate.reason ? ` (skipped: ${gate.reason})` : ""}`, () => {
  let reg: TestRegistry;
  let digest: string;
  let secrets: string;
  let dockerConfig: string;
  const savedDockerConfig = process.env.DOCKER_CONFIG;

  const auths = (host: string, password: string) =>
    JSON.stringify({ auths: { [host]: { auth: Buffer.from(`${USER}:${password}`).toString("base64") } } });
  /** The default keychain (DOCKER_CONFIG): valid credentials for the registry, or none. */
  const setDefaultKeychain = async (valid: boolean) => {
    if (valid) await writeFile(path.join(dockerConfig, "config.json"), auths(reg.host, PASSWORD));
    else await rm(path.join(dockerConfig, "config.json"), { force: true });
  };

  beforeAll(async () => {
    reg = await startRegistry({ auth: "htpasswd", users: { [USER]: PASSWORD } });
    const pushed = await pushWasmImage(`${reg.host}/filters/add-header:1.0`, { wasm: await addHeaderWasm(), name: "add-header", version: "1.0.0" }, {
      auth: { username: USER, password: PASSWORD },
      blobLocations: false,
    });
    digest = pushed.manifestDigest;
    secrets = await mkdtemp(path.join(tmpdir(), "meshwasm-pull-secrets-"));
    await writeFile(path.join(secrets, "regcred.json"), auths(reg.host, PASSWORD));
    await writeFile(path.join(secrets, "wrong.json"), auths(reg.host, WRONG_PASSWORD));
    await writeFile(path.join(secrets, "elsewhere.json"), auths("registry.example.com", PASSWORD));
    await writeFile(path.join(secrets, "garbled.json"), NOT_JSON);
    dockerConfig = await mkdtemp(path.join(tmpdir(), "meshwasm-docker-config-"));
    process.env.DOCKER_CONFIG = dockerConfig;
  }, 120_000);

  afterAll(async () => {
    if (savedDockerConfig === undefined) delete process.env.DOCKER_CONFIG;
    else process.env.DOCKER_CONFIG = savedDockerConfig;
    await reg?.stop();
    for (const dir of [secrets, dockerConfig]) if (dir) await rm(dir, { recursive: true, force: true });
  });

  let h: PluginHarness | undefined;
  let logs: string[] = [];
  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  async function start(secret: string | undefined, opts: { failStrategy?: string; pullSecretsDir?: string | null } = {}): Promise<PluginHarness> {
    logs = [];
    const yaml = wasmPluginYaml({
      name: "private",
      url: `oci://${reg.host}/filters/add-header@${digest}`,
      pluginConfig: orderConfig("private"),
      ...(opts.failStrategy ? { failStrategy: opts.failStrategy } : {}),
      ...(secret ? { extra: `  imagePullSecret: ${secret}` } : {}),
    });
    const dir = opts.pullSecretsDir === null ? {} : { pullSecretsDir: opts.pullSecretsDir ?? secrets };
    h = await startPluginHarness({ "p.yaml": yaml }, { ...dir, log: (line) => logs.push(line) });
    return h;
  }
  const metric = (name: string, result: string) => h!.harness.sidecar.plugins!.metrics.value(name, { result });
  const remoteFetches = () => RESULTS.reduce((n, r) => n + metric("wasm_remote_fetch_count", r), 0);
  const noSecretInLogs = () => {
    for (const secret of [PASSWORD, WRONG_PASSWORD, NOT_JSON, Buffer.from(`${USER}:${PASSWORD}`).toString("base64")]) {
      expect(logs.join("\n")).not.toContain(secret);
    }
  };

  it("pulls with the Secret's credentials; the default keychain has none", async () => {
    await setDefaultKeychain(false);
    const p = await start("regcred");
    const r = await call(p.client);
    expect(r.error).toBeUndefined();
    expect(r.request).toEqual(["private"]);
    expect(metric("wasm_remote_fetch_count", "success")).toBe(1);
    noSecretInLogs();
  }, 60_000);

  it("a missing Secret: no lookup and no fetch, 'missing image pulling secret', deny-all under FAIL_CLOSE, though the default keychain could pull", async () => {
    await setDefaultKeychain(true);
    const p = await start("not-there");
    expect((await call(p.client)).error?.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(remoteFetches()).toBe(0);
    const lookups = p.harness.sidecar.plugins!.metrics;
    expect(lookups.value("wasm_cache_lookup_count", { hit: "true" }) + lookups.value("wasm_cache_lookup_count", { hit: "false" })).toBe(0);
    expect(metric("wasm_config_conversion_count", "fetch_failure")).toBe(1);
    expect(logs.some((l) => l.includes("default.private: error in converting the wasm config to local: cannot fetch Wasm module default.private: missing image pulling secret. applying deny RBAC filter"))).toBe(true);
  }, 60_000);

  it("a name no Secret can have (not a DNS subdomain) is missing; FAIL_OPEN skips the plugin", async () => {
    await setDefaultKeychain(true);
    const p = await start("../regcred", { failStrategy: "FAIL_OPEN" });
    const r = await call(p.client);
    expect(r.error).toBeUndefined();
    expect(r.request).toEqual([]);
    expect(remoteFetches()).toBe(0);
    expect(logs.some((l) => l.includes("missing image pulling secret. applying allow RBAC filter"))).toBe(true);
  }, 60_000);

  it("a wrong password in the Secret: 401, manifest_failure, deny-all; the default keychain is not tried; no secret in the log", async () => {
    await setDefaultKeychain(true);
    const p = await start("wrong");
    expect((await call(p.client)).error?.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(metric("wasm_remote_fetch_count", "manifest_failure")).toBe(1);
    expect(metric("wasm_remote_fetch_count", "success")).toBe(0);
    expect(logs.some((l) => l.includes(`rejected user "${USER}"`))).toBe(true);
    noSecretInLogs();
  }, 60_000);

  it("a Secret that does not list the registry: anonymous, refused (manifest_failure)", async () => {
    await setDefaultKeychain(true);
    const p = await start("elsewhere", { failStrategy: "FAIL_OPEN" });
    expect((await call(p.client)).request).toEqual([]);
    expect(metric("wasm_remote_fetch_count", "manifest_failure")).toBe(1);
    expect(logs.some((l) => l.includes(`authentication required by registry ${reg.host} and no credentials were found for it`))).toBe(true);
  }, 60_000);

  it("a Secret file that is not JSON: the pull fails naming the file, never quoting it", async () => {
    await setDefaultKeychain(true);
    const p = await start("garbled", { failStrategy: "FAIL_OPEN" });
    expect((await call(p.client)).request).toEqual([]);
    expect(metric("wasm_remote_fetch_count", "manifest_failure")).toBe(1);
    expect(logs.some((l) => l.includes(`pull secret ${path.join(secrets, "garbled.json")}: not a docker config JSON object`))).toBe(true);
    noSecretInLogs();
  }, 60_000);

  it("without --pull-secrets the name is not resolved: the default keychain pulls (logged)", async () => {
    await setDefaultKeychain(true);
    const p = await start("regcred", { pullSecretsDir: null });
    expect((await call(p.client)).request).toEqual(["private"]);
    expect(logs.some((l) => l.includes("imagePullSecret regcred is not resolved without --pull-secrets; pulling with the default keychain"))).toBe(true);
  }, 60_000);

  it("a plugin without imagePullSecret pulls with the default keychain, --pull-secrets or not", async () => {
    await setDefaultKeychain(true);
    const p = await start(undefined);
    expect((await call(p.client)).request).toEqual(["private"]);
    await p.stop();
    h = undefined;
    await setDefaultKeychain(false);
    const anonymous = await start(undefined, { failStrategy: "FAIL_OPEN" });
    expect((await call(anonymous.client)).request).toEqual([]);
    expect(metric("wasm_remote_fetch_count", "manifest_failure")).toBe(1);
  }, 60_000);
});

describe("--pull-secrets option", () => {
  it("needs --plugins, and an existing directory", async () => {
    expect(() => pluginsOptionsFrom({ pullSecrets: "/x" })).toThrow(new UserError("--pull-secrets needs --plugins DIR"));
    const dir = await mkdtemp(path.join(tmpdir(), "meshwasm-pull-secrets-opt-"));
    try {
      const missing = path.join(dir, "nope");
      expect(() => pluginsOptionsFrom({ plugins: dir, pullSecrets: missing })).toThrow(`--pull-secrets ${missing}: no such directory`);
      await writeFile(path.join(dir, "file"), "");
      expect(() => pluginsOptionsFrom({ plugins: dir, pullSecrets: path.join(dir, "file") })).toThrow(`--pull-secrets ${path.join(dir, "file")}: not a directory`);
      await mkdir(path.join(dir, "secrets"));
      expect(pluginsOptionsFrom({ plugins: dir, pullSecrets: path.join(dir, "secrets") })?.pullSecretsDir).toBe(path.join(dir, "secrets"));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
