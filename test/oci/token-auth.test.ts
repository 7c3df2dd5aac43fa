/**
 * The Bearer-token flow against a real CNCF registry configured with `auth.token` and a test
 * token server signing ES256 JWTs (as a cloud registry does): push and pull, token reuse,
 * an expired token refreshed, a token server that only hands out expired tokens, a wrong
 * password, a user allowed to pull but not push (nothing published), the OAuth2 identity-token
 * grant, and cross-repository mounts that need two scopes.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pullWasmImage, pushWasmImage, RegistryTransport, toResolver } from "../../manager/src/oci/index.ts";
import { startRegistry, toolGate, type TestRegistry } from "../support/registry.ts";
import { testModule } from "./support/modules.ts";

const run = promisify(execFile);
const gate = toolGate();
const ALICE = { username: "alice", password: "wonderland-42" };
const input = { wasm: testModule(8_000, 3), name: "grpc-metrics", version: "1.0.0", abi: "0_2_1" };

describe.skipIf(gate.skip)(`OCI with token auth${gate.reason ? ` (skipped: ${gate.reason})` : ""}`, () => {
  let reg: TestRegistry;
  beforeAll(async () => {
    reg = await startRegistry({
      auth: "token",
      users: { alice: "wonderland-42", reader: "read-only-7" },
      token: {
        identityTokens: { "refresh-token-for-alice": "alice" },
        acl: (user, repository) => (repository.startsWith("secret/") ? [] : user === "alice" ? ["pull", "push"] : user === "reader" ? ["pull"] : []),
      },
    });
  });
  afterAll(async () => {
    await reg?.stop();
  });

  it("pushes and pulls with bearer tokens, one token per scope set", async () => {
    const transport = new RegistryTransport(reg.host, toResolver(ALICE));
    const pushed = await pushWasmImage(`${reg.host}/filters/grpc-metrics`, input, { transport, blobLocations: false });
    expect(transport.stats.tokenFetches).toBe(1); // pull,push for the repository, reused by every request
    const pulled = await pullWasmImage(`${reg.host}/filters/grpc-metrics:1.0.0`, { auth: { username: "reader", password: "read-only-7" }, expectedSha256: pushed.manifestDigest });
    expect(Buffer.from(pulled.wasm).equals(Buffer.from(input.wasm))).toBe(true);
    expect(pulled.warnings.join()).toMatch(/istio-agent >= 1\.30 refuses such realms/);
    const { stdout } = await run("skopeo", ["inspect", "--tls-verify=false", "--creds", "reader:read-only-7", `docker://${reg.host}/filters/grpc-metrics:1.0.0`]);
    expect(JSON.parse(stdout).Digest).toBe(pushed.manifestDigest);
  });

  it("refreshes a token the registry rejects as expired", async () => {
    await pushWasmImage(`${reg.host}/filters/expiring:1`, input, { auth: ALICE, blobLocations: false });
    const ts = reg.tokenServer!;
    ts.expiredBySeconds = 600;
    ts.expiredCount = 1;
    const before = ts.issued;
    const pulled = await pullWasmImage(`${reg.host}/filters/expiring:1`, { auth: ALICE });
    expect(pulled.wasm.byteLength).toBe(input.wasm.byteLength);
    expect(ts.issued - before).toBe(2); // the expired one, then a fresh one
    ts.expiredBySeconds = 0;
  });

  it("fails in one line when the token server only hands out expired tokens", async () => {
    const ts = reg.tokenServer!;
    ts.expiredBySeconds = 600;
    ts.expiredCount = undefined;
    try {
      await expect(pullWasmImage(`${reg.host}/filters/expiring:1`, { auth: ALICE })).rejects.toThrow(
        /^could not fetch Wasm OCI image: could not fetch manifest: authentication failed: registry 127\.0\.0\.1:\d+ rejected user "alice" \(invalid_token\): 401 UNAUTHORIZED: authentication required$/,
      );
    } finally {
      ts.expiredBySeconds = 0;
    }
  });

  it("rejects a wrong password at the token server without echoing it", async () => {
    const err = (await pushWasmImage(`${reg.host}/filters/x:1`, input, { auth: { username: "alice", password: "guess-123" }, blobLocations: false }).catch((e) => e)) as Error;
    expect(err.message).toMatch(/^authentication failed: the token server http:\/\/127\.0\.0\.1:\d+ of 127\.0\.0\.1:\d+ rejected user "alice" \(401: UNAUTHORIZED: invalid username or password\)$/);
    expect(err.message).not.toContain("guess-123");
  });

  it("a user without push rights publishes nothing", async () => {
    const err = (await pushWasmImage(`${reg.host}/filters/readers-cannot:1`, input, { auth: { username: "reader", password: "read-only-7" }, blobLocations: false }).catch((e) => e)) as Error;
    expect(err.message).toMatch(/^could not upload blob sha256:[a-f0-9]{64} to .*: authentication failed: registry 127\.0\.0\.1:\d+ rejected user "reader" \(insufficient_scope\).*nothing was published$/);
    await expect(pullWasmImage(`${reg.host}/filters/readers-cannot:1`, { auth: ALICE })).rejects.toThrow(/404 MANIFEST_UNKNOWN/);
  });

  it("exchanges an identity token with the OAuth2 refresh-token grant", async () => {
    const pushed = await pushWasmImage(`${reg.host}/filters/oauth:1`, input, { auth: { identityToken: "refresh-token-for-alice" }, blobLocations: false });
    const pulled = await pullWasmImage(pushed.pinned, { auth: { identityToken: "refresh-token-for-alice" } });
    expect(pulled.manifestDigest).toBe(pushed.manifestDigest);
    await expect(pullWasmImage(pushed.pinned, { auth: { identityToken: "stolen" } })).rejects.toThrow(/token server .* rejected an identity token \(401: UNAUTHORIZED: invalid refresh token\)/);
  });

  it("mounts across repositories with a token scoped to both", async () => {
    const other = { ...input, wasm: testModule(8_000, 99) };
    await pushWasmImage(`${reg.host}/team-a/m:1`, other, { auth: ALICE, blobLocations: false });
    const b = await pushWasmImage(`${reg.host}/team-b/m:1`, other, { auth: ALICE, blobLocations: false, mountFrom: ["team-a/m"] });
    expect(b.blobs.map((x) => x.outcome)).toEqual(["mounted", "mounted"]);
    // A source the user may not pull from is skipped: the blobs are uploaded instead.
    const c = await pushWasmImage(`${reg.host}/private/m:1`, other, { auth: ALICE, blobLocations: false, mountFrom: ["secret/m"] });
    expect(c.blobs.map((x) => x.outcome)).toEqual(["uploaded", "uploaded"]);
  });
});
