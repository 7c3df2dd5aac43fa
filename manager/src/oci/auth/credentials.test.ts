import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultKeychain, dockerConfigKeychain } from "./credentials.ts";

const b64 = (s: string) => Buffer.from(s).toString("base64");

describe("docker config.json lookups", () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "meshwasm-creds-"));
    // A credential helper speaking docker's protocol: server URL on stdin, JSON on stdout.
    await writeFile(
      path.join(dir, "docker-credential-meshtest"),
      `#!/bin/sh
read url
case "$url" in
  helped.example.com) printf '{"ServerURL":"%s","Username":"bob","Secret":"s3cret:with:colons"}' "$url" ;;
  token.example.com) printf '{"ServerURL":"%s","Username":"<token>","Secret":"refresh-abc"}' "$url" ;;
  broken.example.com) echo "keychain locked" >&2; exit 3 ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac
`,
    );
    await chmod(path.join(dir, "docker-credential-meshtest"), 0o755);
    env = { ...process.env, PATH: `${dir}:${process.env.PATH}` };
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reads auths by host, including URL-shaped keys and Docker Hub's key", async () => {
    const kc = dockerConfigKeychain(JSON.stringify({
      auths: {
        "registry.example.com:5000": { auth: b64("alice:pa:ss") },
        "https://other.example.com/v1/": { username: "carol", password: "pw" },
        "https://index.docker.io/v1/": { auth: b64("hub:hubpw") },
        "id.example.com": { auth: b64("dave:x"), identitytoken: "idtok" },
      },
    }));
    expect(await kc("registry.example.com:5000")).toEqual({ username: "alice", password: "pa:ss" });
    expect(await kc("other.example.com")).toEqual({ username: "carol", password: "pw" });
    expect(await kc("index.docker.io")).toEqual({ username: "hub", password: "hubpw" });
    expect(await kc("id.example.com")).toEqual({ username: "dave", password: "x", identityToken: "idtok" });
    expect(await kc("nowhere.example.com")).toBeUndefined();
  });

  it("asks credHelpers first, then credsStore, through the helper protocol", async () => {
    const kc = dockerConfigKeychain(JSON.stringify({ credHelpers: { "helped.example.com": "meshtest", "token.example.com": "meshtest" }, credsStore: "meshtest", auths: { "plain.example.com": { auth: b64("p:q") } } }), "cfg", { env });
    expect(await kc("helped.example.com")).toEqual({ username: "bob", password: "s3cret:with:colons" });
    expect(await kc("token.example.com")).toEqual({ identityToken: "refresh-abc" });
    // credsStore knows nothing of plain.example.com: auths answers.
    expect(await kc("plain.example.com")).toEqual({ username: "p", password: "q" });
  });

  it("reports a failing or missing helper in one line without its output", async () => {
    const kc = dockerConfigKeychain(JSON.stringify({ credsStore: "meshtest" }), "cfg", { env });
    await expect(kc("broken.example.com")).rejects.toThrow("credential helper docker-credential-meshtest failed for broken.example.com: keychain locked");
    const missing = dockerConfigKeychain(JSON.stringify({ credsStore: "nonexistent-helper" }), "cfg", { env });
    await expect(missing("x.example.com")).rejects.toThrow("credential helper docker-credential-nonexistent-helper: not found on PATH");
  });

  it("names the file and field of a bad config", async () => {
    expect(() => dockerConfigKeychain("{", "/home/u/.docker/config.json")).toThrow(/^\/home\/u\/.docker\/config.json: not valid JSON/);
    expect(() => dockerConfigKeychain("{", "cfg")).toThrow("cfg: not valid JSON (line 1, column 2)");
    expect(() => dockerConfigKeychain('{\n  "auths": {"r.io": {"auth": "dXNlcjpz" "x": 1}}}', "cfg")).toThrow("cfg: not valid JSON (line 2, column 41)");
    expect(() => dockerConfigKeychain('{"auths": []}', "cfg")).toThrow("cfg: auths: expected an object");
    await expect(dockerConfigKeychain(JSON.stringify({ auths: { "a.io": { auth: b64("nocolon") } } }), "cfg")("a.io")).rejects.toThrow('cfg: auths["a.io"]: auth is not base64 of "user:password"');
  });

  it("never quotes the config's text (a credential) when it is not valid JSON", () => {
    const secret = b64("user:s3cr3t-password");
    for (const text of [`{"auths":{"r.io":{"auth":${secret}}}}`, `{"auths":{"r.io":{"auth":"${secret}"x}}}`, `{"auths":{"r.io":{"password":s3cr3t-password}}}`]) {
      const error = (() => {
        try {
          dockerConfigKeychain(text, "cfg");
        } catch (e) {
          return e as Error;
        }
        throw new Error("accepted invalid JSON");
      })();
      expect(error.message).toMatch(/^cfg: not valid JSON \(/);
      expect(error.message).not.toContain(secret.slice(0, 6));
      expect(error.message).not.toContain("s3cr3t");
    }
  });

  it("the default keychain reads $DOCKER_CONFIG/config.json, anonymous when absent", async () => {
    await writeFile(path.join(dir, "config.json"), JSON.stringify({ auths: { "r.io": { auth: b64("u:p") } } }));
    expect(await defaultKeychain({ helper: { env: { ...env, DOCKER_CONFIG: dir } } })("r.io")).toEqual({ username: "u", password: "p" });
    expect(await defaultKeychain({ configPath: path.join(dir, "missing.json") })("r.io")).toBeUndefined();
  });
});
