/**
 * Push, pull and verify against a real CNCF registry with htpasswd Basic auth, and skopeo as the
 * independent client: digests agree, copies stay pullable, re-pushes are idempotent, blobs are
 * mounted across repositories, chunked uploads work, and bad credentials, missing repositories,
 * unreachable registries and malformed references fail with one clear line.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BlobLocations, inspectImage, pullWasmImage, pushWasmImage, RegistryTransport, toResolver } from "../../manager/src/oci/index.ts";
import { RepositoryClient } from "../../manager/src/oci/registry/client.ts";
import { freePort, startRegistry, toolGate, type TestRegistry } from "../support/registry.ts";
import { testModule } from "./support/modules.ts";

const run = promisify(execFile);
const gate = toolGate();
const ALICE = { username: "alice", password: "wonderland-42" };
const CREDS = "alice:wonderland-42";
const wasm = testModule(20_000, 7);
const input = { wasm, name: "grpc-auth", version: "0.3.1+0123456789ab", revision: "0123456789abcdef0123456789abcdef01234567", abi: "0_2_1" };

async function skopeoDigest(ref: string): Promise<string> {
  const { stdout } = await run("skopeo", ["inspect", "--tls-verify=false", "--creds", CREDS, `docker://${ref}`]);
  return (JSON.parse(stdout) as { Digest: string }).Digest;
}

describe.skipIf(gate.skip)(`OCI push/pull with Basic auth${gate.reason ? ` (skipped: ${gate.reason})` : ""}`, () => {
  let reg: TestRegistry;
  let tmp: string;
  beforeAll(async () => {
    reg = await startRegistry({ auth: "htpasswd" });
    tmp = await mkdtemp(path.join(os.tmpdir(), "meshwasm-oci-"));
  });
  afterAll(async () => {
    await reg?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it("pushes the compat image, tags it with the version, and pulls it back byte for byte", async () => {
    const pushed = await pushWasmImage(`${reg.host}/filters/grpc-auth`, input, { auth: ALICE, blobLocations: false });
    expect(pushed.tag).toBe("0.3.1_0123456789ab");
    expect(pushed.pinned).toBe(`${reg.host}/filters/grpc-auth@${pushed.manifestDigest}`);
    expect(pushed.blobs.map((b) => [b.role, b.outcome])).toEqual([["config", "uploaded"], ["layer", "uploaded"]]);
    const pulled = await pullWasmImage(`oci://${reg.host}/filters/grpc-auth:0.3.1_0123456789ab`, { auth: ALICE, expectedSha256: pushed.manifestDigest.slice(7) });
    expect(Buffer.from(pulled.wasm).equals(Buffer.from(wasm))).toBe(true);
    expect(pulled.manifestDigest).toBe(pushed.manifestDigest);
    expect(pulled.variant).toBe("compat-oci");
    const seen = await inspectImage(`${reg.host}/filters/grpc-auth:0.3.1_0123456789ab`, { auth: ALICE });
    expect(seen.annotations).toMatchObject({
      "module.wasm.image/variant": "compat",
      "org.opencontainers.image.version": "0.3.1+0123456789ab",
      "org.opencontainers.image.revision": input.revision,
      "module.wasm.runtime/abi_version": "proxy_abi_version_0_2_1",
    });
    expect(seen.layers).toHaveLength(1);
  });

  it("skopeo sees the same manifest digest, and its copy is still what istio-agent accepts", async () => {
    const pushed = await pushWasmImage(`${reg.host}/filters/copy-src:v1`, input, { auth: ALICE, blobLocations: false });
    expect(await skopeoDigest(`${reg.host}/filters/copy-src:v1`)).toBe(pushed.manifestDigest);
    await run("skopeo", [
      "copy", "--preserve-digests", "--src-tls-verify=false", "--dest-tls-verify=false", "--src-creds", CREDS, "--dest-creds", CREDS,
      `docker://${reg.host}/filters/copy-src:v1`, `docker://${reg.host}/mirror/grpc-auth:v1`,
    ]);
    const pulled = await pullWasmImage(`${reg.host}/mirror/grpc-auth:v1`, { auth: ALICE, expectedSha256: pushed.manifestDigest });
    expect(pulled.manifestDigest).toBe(pushed.manifestDigest);
    expect(Buffer.from(pulled.wasm).equals(Buffer.from(wasm))).toBe(true);
  });

  it("re-pushing the same module gives the same digest and uploads nothing", async () => {
    const first = await pushWasmImage(`${reg.host}/filters/again:1`, input, { auth: ALICE, blobLocations: false });
    const second = await pushWasmImage(`${reg.host}/filters/again:1`, input, { auth: ALICE, blobLocations: false });
    expect(second.manifestDigest).toBe(first.manifestDigest);
    expect(second.blobs.map((b) => b.outcome)).toEqual(["exists", "exists"]);
  });

  it("mounts blobs from a repository it pushed to before instead of uploading them", async () => {
    const locations = new BlobLocations(path.join(tmp, "locations.json"));
    const a = await pushWasmImage(`${reg.host}/team-a/grpc-auth:1`, input, { auth: ALICE, blobLocations: locations });
    const b = await pushWasmImage(`${reg.host}/team-b/grpc-auth:1`, input, { auth: ALICE, blobLocations: locations });
    expect(b.manifestDigest).toBe(a.manifestDigest);
    expect(b.blobs.map((x) => [x.outcome, x.mountedFrom])).toEqual([["mounted", "team-a/grpc-auth"], ["mounted", "team-a/grpc-auth"]]);
    expect(await skopeoDigest(`${reg.host}/team-b/grpc-auth:1`)).toBe(a.manifestDigest);
  });

  it("uploads large blobs in chunks", async () => {
    const big = { ...input, wasm: testModule(300_000, 11), version: "9.9.9" };
    const pushed = await pushWasmImage(`${reg.host}/filters/big`, big, { auth: ALICE, blobLocations: false, chunkSize: 64 * 1024 });
    const layer = pushed.blobs.find((x) => x.role === "layer")!;
    expect(layer.chunks).toBe(Math.ceil(layer.size / (64 * 1024)));
    const pulled = await pullWasmImage(pushed.pinned, { auth: ALICE });
    expect(Buffer.from(pulled.wasm).equals(Buffer.from(big.wasm))).toBe(true);
  });

  it("rejects a wrong password in one line without printing it", async () => {
    const err = await pushWasmImage(`${reg.host}/filters/nope:1`, input, { auth: { username: "alice", password: "not-the-password" }, blobLocations: false }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(new RegExp(`^authentication failed: registry ${reg.host} rejected user "alice": 401 `));
    expect((err as Error).message).not.toContain("not-the-password");
    expect((err as Error).message).not.toContain("\n");
    const pullErr = await pullWasmImage(`${reg.host}/filters/grpc-auth:0.3.1_0123456789ab`, { auth: async () => undefined }).catch((e: Error) => e);
    expect((pullErr as Error).message).toMatch(/^could not fetch Wasm OCI image: could not fetch manifest: authentication required by registry .* no credentials were found/);
  });

  it("reports a missing repository and a missing tag as the registry names them", async () => {
    await expect(pullWasmImage(`${reg.host}/no/such-repo:1.0.0`, { auth: ALICE })).rejects.toThrow(
      /^could not fetch Wasm OCI image: could not fetch manifest: GET manifest 127\.0\.0\.1:\d+\/no\/such-repo:1\.0\.0: 404 MANIFEST_UNKNOWN: manifest unknown$/,
    );
    await expect(pullWasmImage(`${reg.host}/filters/grpc-auth:no-such-tag`, { auth: ALICE })).rejects.toThrow(/404 MANIFEST_UNKNOWN: manifest unknown/);
  });

  it("fails fast and clearly on an unreachable registry and a malformed reference", async () => {
    const port = await freePort();
    await expect(pushWasmImage(`127.0.0.1:${port}/a/b:1`, input, { auth: ALICE, blobLocations: false })).rejects.toThrow(
      new RegExp(`^cannot reach registry 127\\.0\\.0\\.1:${port} over http: .*ECONNREFUSED`),
    );
    await expect(pullWasmImage(`127.0.0.1:${port}/a/b:1`)).rejects.toThrow(/^could not fetch Wasm OCI image: could not fetch manifest: cannot reach registry/);
    await expect(pushWasmImage(`${reg.host}/Filters/x:1`, input, { auth: ALICE })).rejects.toThrow(/malformed image reference ".*": repository name must be lowercase, got "Filters" \(column \d+\)/);
    await expect(pullWasmImage(`${reg.host}/x@sha256:1234`)).rejects.toThrow(/could not parse url in image reference: malformed image reference/);
  });

  it("refuses a module that is not Wasm before talking to the registry", async () => {
    await expect(pushWasmImage(`${reg.host}/filters/not-wasm:1`, { ...input, wasm: Buffer.from("<html>not wasm</html>") }, { auth: ALICE, blobLocations: false }))
      .rejects.toThrow(/grpc-auth: not a Wasm module/);
    const repo = new RepositoryClient(new RegistryTransport(reg.host, toResolver(ALICE)), "filters/not-wasm");
    await expect(repo.listTags()).rejects.toThrow(/404 NAME_UNKNOWN: repository name not known to registry/);
  });
});
