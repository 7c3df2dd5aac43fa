/**
 * grpc-auth in the proxy-wasm host: each identity kind, the evaluation order, denials on the wire,
 * stripping, filter state, stats, the audit log, dry run, caches, and rejected configurations.
 * Every case asserts the code, the rule and the counter the filter itself produced.
 */
import { pbkdf2Sync } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compilePolicy, hashApiKey } from "../../../manager/src/policy/index.ts";
import { PolicyRunner, type AuthCall } from "../../../manager/src/policy/wasm-runner.ts";
import { authWasm, counter, decisions, policyOf, runnerFor } from "./harness.ts";
import { ED, ED_OTHER, fixturePolicyYaml, ISS, SECRETS } from "./fixture.ts";
import { b64u, eddsa, hs256 } from "./tokens.ts";

const NOW = 1_800_000_000;
const key = (k: keyof typeof SECRETS.apiKeys): [string, string] => ["x-api-key", SECRETS.apiKeys[k]];
const user = (name: keyof typeof SECRETS.passwords, password = SECRETS.passwords[name]): Array<[string, string]> => [
  ["username", name],
  ["password", password],
];
const bearer = (t: string): [string, string] => ["authorization", `Bearer ${t}`];
const hsToken = (claims: Record<string, unknown> = {}) => hs256(SECRETS.hsSecret, { iss: ISS.hs, aud: "svc", sub: "hs-user", exp: NOW + 600, ...claims }, { kid: "hs-1" });
const edToken = (claims: Record<string, unknown> = {}) => eddsa(ED, { iss: ISS.ed, sub: "ed-user", exp: NOW + 600, ...claims }, { kid: "ed-1" });

let r: PolicyRunner;
const call = (c: AuthCall) => r.run({ nowSeconds: NOW, ...c });

beforeAll(async () => {
  r = (await runnerFor(fixturePolicyYaml())).runner;
});
afterAll(async () => r?.close());

describe("API keys", () => {
  it("allows a known key, names it in stats, filter state and the audit log, and strips the header", () => {
    const before = decisions(r, "echo-keys", "allowed", "OK");
    const o = call({ path: "/meshtest.Echo/Unary", metadata: [key("ci"), ["x-other", "kept"]] });
    expect(o).toMatchObject({ allowed: true, rule: "echo-keys", principal: "apikey:ci" });
    expect(o.forwarded!.map(([k]) => k)).not.toContain("x-api-key");
    expect(o.forwarded).toContainEqual(["x-other", "kept"]);
    expect(decisions(r, "echo-keys", "allowed", "OK")).toBe(before + 1n);
    const line = o.logs.find((l) => l.includes("decision=allow"))!;
    expect(line).toContain("policy=fixture decision=allow code=0 rule=echo-keys method=/meshtest.Echo/Unary principal=apikey:ci");
    expect(o.logs.join("\n")).not.toContain(SECRETS.apiKeys.ci);
  });

  it("denies an unknown key with UNAUTHENTICATED by _authn, whatever the method", () => {
    const before = decisions(r, "_authn", "denied", "Unauthenticated");
    for (const path of ["/meshtest.Echo/Unary", "/grpc.health.v1.Health/Check"]) {
      const o = call({ path, metadata: [["x-api-key", "not-a-key"]] });
      expect(o).toMatchObject({ allowed: false, code: 16, rule: "_authn", message: 'grpc-auth: unauthenticated: invalid API key (rule "_authn")' });
      expect(o.message).not.toContain("not-a-key");
    }
    expect(decisions(r, "_authn", "denied", "Unauthenticated")).toBe(before + 2n);
  });

  it("recognises a repeated key from its bytes, never a near miss of the last valid key", () => {
    const ci = SECRETS.apiKeys.ci;
    const near = [ci.slice(0, -1) + String.fromCharCode(ci.charCodeAt(ci.length - 1) ^ 1), ci.slice(0, -1), `${ci}f`, `x${ci.slice(1)}`];
    const sequence: Array<[string, string | null]> = [
      [ci, "apikey:ci"], [ci, "apikey:ci"], [SECRETS.apiKeys.ops, "apikey:ops"], [ci, "apikey:ci"],
      ...near.map((k): [string, string | null] => [k, null]), [ci, "apikey:ci"],
    ];
    for (const [k, principal] of sequence) {
      const o = call({ path: "/meshtest.Echo/Unary", metadata: [["x-api-key", k]] });
      if (principal !== null) expect(o).toMatchObject({ allowed: true, rule: "echo-keys", principal });
      else expect(o).toMatchObject({ allowed: false, code: 16, rule: "_authn" });
    }
  });

  it("denies by default with UNAUTHENTICATED when the key is missing and PERMISSION_DENIED when the wrong identity calls", () => {
    expect(call({ path: "/meshtest.Echo/Unary" })).toMatchObject({ code: 16, rule: "_default", message: 'grpc-auth: unauthenticated: credentials required (rule "_default")' });
    // alice is a valid identity, but the only rules for Unary want an API key: a key would help -> 16.
    expect(call({ path: "/meshtest.Echo/Unary", metadata: user("alice") })).toMatchObject({ code: 16, rule: "_default" });
    // The ci key is valid; pkg-wide wants ci, so ops is a valid identity nothing allows -> 7.
    expect(call({ path: "/test.pkg.v1.Svc/Get", metadata: [key("ops")] })).toMatchObject({
      code: 7, rule: "_default", message: 'grpc-auth: permission denied: no rule allows this call (rule "_default")',
    });
    expect(counter(r, "grpc_auth_denials_total", { grpc_service: "test.pkg.v1.Svc", grpc_method: "Get", grpc_code: "PermissionDenied", auth_decision: "denied" })).toBe(1n);
  });

  it("applies a DENY rule before any ALLOW rule, and counts the AUDIT rule", () => {
    const jwt = bearer(hsToken({ groups: ["admin"] }));
    const audited = decisions(r, "audit-admin", "audited");
    const o = call({ path: "/test.Admin/Delete", metadata: [key("ops"), jwt] });
    expect(o).toMatchObject({ code: 7, rule: "deny-admin-ops-key", message: 'grpc-auth: permission denied (rule "deny-admin-ops-key")' });
    expect(o.logs.some((l) => l.includes("rule=deny-admin-ops-key") && l.includes("audit_rule=audit-admin"))).toBe(true);
    expect(call({ path: "/test.Admin/Delete", metadata: [key("ci"), jwt] })).toMatchObject({ allowed: true, rule: "admin-jwt", principal: `${ISS.hs}/hs-user` });
    expect(decisions(r, "audit-admin", "audited")).toBe(audited + 2n);
  });
});

describe("username and password", () => {
  it("allows alice, denies bob (valid but not allowed: 7) and a wrong password (16), and strips both headers", () => {
    const o = call({ path: "/meshtest.Echo/ServerStream", metadata: user("alice") });
    expect(o).toMatchObject({ allowed: true, rule: "echo-users", principal: "user:alice" });
    expect(o.forwarded!.map(([k]) => k)).not.toContain("username");
    expect(o.forwarded!.map(([k]) => k)).not.toContain("password");
    expect(call({ path: "/meshtest.Echo/ServerStream", metadata: user("bob") })).toMatchObject({ code: 7, rule: "_default" });
    const wrong = call({ path: "/meshtest.Echo/ServerStream", metadata: user("alice", "alice-password-X") });
    expect(wrong).toMatchObject({ code: 16, rule: "_authn", message: 'grpc-auth: unauthenticated: invalid username or password (rule "_authn")' });
    expect(wrong.logs.join("\n")).not.toContain("alice-password");
  });

  it("derives a password once per VM: later calls hit the keyed-digest cache", () => {
    const before = counter(r, "grpc_auth_password_derivations_total");
    for (let i = 0; i < 5; i++) expect(call({ path: "/meshtest.Echo/ClientStream", metadata: user("alice") }).allowed).toBe(true);
    expect(counter(r, "grpc_auth_password_derivations_total")).toBeLessThanOrEqual(before + 1n);
    call({ path: "/meshtest.Echo/ClientStream", metadata: user("bob", "guess-1") });
    call({ path: "/meshtest.Echo/ClientStream", metadata: user("bob", "guess-1") });
    expect(counter(r, "grpc_auth_password_derivations_total")).toBeLessThanOrEqual(before + 2n);
  });

  it("a lone username, a repeated password or an empty one is invalid", () => {
    expect(call({ path: "/meshtest.Echo/ServerStream", metadata: [["username", "alice"]] })).toMatchObject({ code: 16, rule: "_authn" });
    expect(call({ path: "/meshtest.Echo/ServerStream", metadata: [...user("alice"), ["password", SECRETS.passwords.alice]] })).toMatchObject({ code: 16, rule: "_authn" });
    expect(call({ path: "/meshtest.Echo/ServerStream", metadata: [["username", "alice"], ["password", ""]] })).toMatchObject({ code: 16, rule: "_authn" });
  });

  it("verifies PBKDF2-HMAC-SHA256 as Node computes it, for salts and iteration counts of every shape", async () => {
    for (const [iterations, salt] of [[1000, "s".repeat(8)], [1001, "x".repeat(63)], [4096, "salt-with-\u00e9"], [20000, "0123456789abcdef"]] as const) {
      const saltBytes = Buffer.from(salt, "utf8");
      const password = `pw-${iterations}-\u263a`;
      const dk = pbkdf2Sync(Buffer.from(password, "utf8"), saltBytes, iterations, 32, "sha256");
      const hash = `$pbkdf2-sha256$i=${iterations}$${saltBytes.toString("base64").replace(/=+$/, "")}$${dk.toString("base64").replace(/=+$/, "")}`;
      const { runner } = await runnerFor(`apiVersion: meshwasm.io/v1alpha1
kind: GrpcAuthPolicy
metadata: { name: kdf }
spec:
  credentials: { passwords: { users: [{ name: u, hash: "${hash}" }] } }
  rules: [{ name: r, action: ALLOW, methods: ["*"], from: { users: [u] } }]
`);
      expect(runner.run({ path: "/a.B/C", metadata: [["username", "u"], ["password", password]] }).allowed).toBe(true);
      expect(runner.run({ path: "/a.B/C", metadata: [["username", "u"], ["password", password + "x"]] }).code).toBe(16);
      await runner.close();
    }
  });
});

describe("JWT", () => {
  it("verifies HS256 and EdDSA tokens, checks claims (any, nested all, space-delimited scope) and strips authorization", () => {
    const admin = call({ path: "/test.Admin/List", metadata: [bearer(edToken({ groups: "admin" }))] });
    expect(admin).toMatchObject({ allowed: true, rule: "admin-jwt", principal: `${ISS.ed}/ed-user` });
    expect(admin.forwarded!.map(([k]) => k)).not.toContain("authorization");
    expect(call({ path: "/test.Admin/List", metadata: [bearer(edToken({ groups: ["dev"] }))] })).toMatchObject({ code: 7, rule: "_default" });
    expect(call({ path: "/test.Store/Read", metadata: [bearer(hsToken({ scope: "store.write store.read" }))] })).toMatchObject({ allowed: true, rule: "scoped" });
    expect(call({ path: "/test.Store/Read", metadata: [bearer(hsToken({ scope: "store.readonly" }))] })).toMatchObject({ code: 7 });
    const nested = { realm: { roles: ["writer", "auditor", "x"] } };
    expect(call({ path: "/test.Store/Write", metadata: [bearer(edToken(nested))] })).toMatchObject({ allowed: true, rule: "nested" });
    expect(call({ path: "/test.Store/Write", metadata: [bearer(edToken({ realm: { roles: ["writer"] } }))] })).toMatchObject({ code: 7 });
  });

  it("verifies a token once: later calls with it hit the cache until its exp passes", () => {
    const token = edToken({ groups: ["admin"], exp: NOW + 30 });
    const before = counter(r, "grpc_auth_jwt_verifications_total");
    for (let i = 0; i < 10; i++) expect(call({ path: "/test.Admin/List", metadata: [bearer(token)] }).allowed).toBe(true);
    expect(counter(r, "grpc_auth_jwt_verifications_total")).toBe(before + 1n);
    // exp + 60 s of skew: valid at exp + 60, expired one second later, from the cache too.
    expect(r.run({ path: "/test.Admin/List", metadata: [bearer(token)], nowSeconds: NOW + 90 }).allowed).toBe(true);
    expect(r.run({ path: "/test.Admin/List", metadata: [bearer(token)], nowSeconds: NOW + 91 })).toMatchObject({
      code: 16, rule: "_authn", message: 'grpc-auth: unauthenticated: invalid JWT: expired (rule "_authn")',
    });
    expect(counter(r, "grpc_auth_jwt_verifications_total")).toBe(before + 1n);
  });

  it("rejects a token signed by another key, for another audience, or from an unknown issuer", () => {
    const other = eddsa(ED_OTHER, { iss: ISS.ed, exp: NOW + 60, groups: ["admin"] }, { kid: "ed-1" });
    expect(call({ path: "/test.Admin/List", metadata: [bearer(other)] })).toMatchObject({ code: 16, message: expect.stringContaining("invalid JWT: bad signature") });
    expect(call({ path: "/test.Admin/List", metadata: [bearer(hsToken({ aud: "other" }))] })).toMatchObject({ code: 16, message: expect.stringContaining("audience not allowed") });
    const stranger = hs256(SECRETS.hsSecret, { iss: "https://stranger.example", exp: NOW + 60 });
    expect(call({ path: "/test.Admin/List", metadata: [bearer(stranger)] })).toMatchObject({ code: 16, message: expect.stringContaining("unknown issuer") });
  });

  it("reads claims that Envoy's jwt_authn verified from the dynamic metadata", () => {
    const payload = { iss: ISS.mesh, sub: "svc-a", scope: "store.read", realm: { roles: ["auditor", "writer"] } };
    expect(call({ path: "/test.Store/Read", jwtAuthn: { payload } })).toMatchObject({ allowed: true, rule: "scoped", principal: `${ISS.mesh}/svc-a` });
    expect(call({ path: "/test.Store/Write", jwtAuthn: { payload } })).toMatchObject({ allowed: true, rule: "nested" });
    // A payload from an issuer the policy does not declare is not an identity.
    expect(call({ path: "/test.Store/Read", jwtAuthn: { payload: { ...payload, iss: "https://x.example" } } })).toMatchObject({ code: 16, rule: "_default" });
    // A token in the header from the jwt_authn provider's issuer needs its verified payload.
    const forwarded = hs256(SECRETS.otherSecret, { iss: ISS.mesh, exp: NOW + 60 });
    expect(call({ path: "/test.Store/Read", metadata: [bearer(forwarded)] })).toMatchObject({ code: 16, message: expect.stringContaining("not verified by jwt_authn") });
    expect(call({ path: "/test.Store/Read", metadata: [bearer(forwarded)], jwtAuthn: { payload } })).toMatchObject({ allowed: true, rule: "scoped" });
  });
});

describe("peers, addresses and headers", () => {
  it("matches SPIFFE principals with wildcards, and denies plaintext calls with UNAUTHENTICATED", () => {
    expect(call({ path: "/test.Internal/Sync", peer: "spiffe://cluster.local/ns/prod/sa/worker" })).toMatchObject({
      allowed: true, rule: "mesh-peers", principal: "spiffe://cluster.local/ns/prod/sa/worker",
    });
    expect(call({ path: "/test.Internal/Sync", peer: "spiffe://cluster.local/ns/dev/sa/worker" })).toMatchObject({ code: 7, rule: "_default" });
    expect(call({ path: "/test.Internal/Sync", peer: "spiffe://other.domain/ns/prod/sa/worker" })).toMatchObject({ code: 7 });
    expect(call({ path: "/test.Internal/Sync" })).toMatchObject({ code: 16, rule: "_default" });
    expect(call({ path: "/test.Internal/Sync", peer: "" })).toMatchObject({ code: 16, rule: "_default" });
  });

  it("matches source addresses against IPv4 and IPv6 CIDRs", () => {
    expect(call({ path: "/test.Office/Print", source: "10.20.30.40:5000" })).toMatchObject({ allowed: true, rule: "office" });
    expect(call({ path: "/test.Office/Print", source: "[2001:db8:0:1::7]:5000" })).toMatchObject({ allowed: true, rule: "office" });
    expect(call({ path: "/test.Office/Print", source: "11.0.0.1:5000" })).toMatchObject({ code: 7, rule: "_default" });
    expect(call({ path: "/test.Office/Print", source: "[::ffff:10.0.0.1]:5000" })).toMatchObject({ code: 7 });
  });

  it("matches request headers (every value joined with a comma) and DENY on presence", () => {
    expect(call({ path: "/test.Env/Get", metadata: [["x-env", "prod"]] })).toMatchObject({ allowed: true, rule: "env-header" });
    expect(call({ path: "/test.Env/Get", metadata: [["x-env", "prod"], ["x-env", "dev"]] })).toMatchObject({ code: 7 });
    expect(call({ path: "/meshtest.Echo/Unary", metadata: [key("ci"), ["x-debug", "1"]] })).toMatchObject({ code: 7, rule: "block-debug" });
  });
});

describe("methods, dry run and non-gRPC requests", () => {
  it("denies paths that are not gRPC method paths by _malformed_path", () => {
    for (const path of ["//meshtest.Echo/Unary", "/meshtest.Echo/Unary/x", "/meshtest.Echo/Unary?", "/meshtest.Echo/%55nary", "/meshtest.Echo/", "/", "/meshtest.Echo/Un\u00e4ry"]) {
      expect(call({ path, metadata: [key("ci")] })).toMatchObject({ code: 7, rule: "_malformed_path", message: 'grpc-auth: permission denied: not a gRPC method path (rule "_malformed_path")' });
    }
    expect(counter(r, "grpc_auth_denials_total", { grpc_service: "unknown", grpc_method: "unknown" })).toBeGreaterThanOrEqual(7n);
  });

  it("counts and logs a dry-run DENY as shadow_denied and lets the call through", () => {
    const before = decisions(r, "rollout", "shadow_denied", "PermissionDenied");
    const o = call({ path: "/meshtest.Echo/Bidi", metadata: [key("ci")] });
    expect(o).toMatchObject({ allowed: true, rule: "echo-keys" });
    expect(o.logs.some((l) => l.includes("shadow_decision=deny shadow_rule=rollout shadow_code=7"))).toBe(true);
    expect(decisions(r, "rollout", "shadow_denied", "PermissionDenied")).toBe(before + 1n);
  });

  it("answers non-gRPC requests with 401 / 403", () => {
    expect(call({ path: "/meshtest.Echo/Unary", contentType: "application/json" })).toMatchObject({ allowed: false, code: 16, httpStatus: 401 });
    expect(call({ path: "/x", contentType: null })).toMatchObject({ allowed: false, code: 7, httpStatus: 403, rule: "_malformed_path" });
  });
});

describe("policy options", () => {
  it("generic messages hide the rule; a rule's message replaces the default; stripCredentials false forwards credentials", async () => {
    // `policy check` refuses a rule message under denialMessages: generic (it would never be sent);
    // the filter must still let generic win in a hand-written pluginConfig that has both.
    const generic = JSON.parse(compilePolicy(policyOf(`apiVersion: meshwasm.io/v1alpha1
kind: GrpcAuthPolicy
metadata: { name: opts }
spec:
  denialMessages: generic
  stripCredentials: false
  credentials: { apiKeys: { keys: [{ name: k, sha256: ${hashApiKey("key-1")} }] } }
  rules:
    - { name: deny-x, action: DENY, methods: ["/a.B/X"] }
    - { name: allow, action: ALLOW, methods: ["/a.B/*"], from: { apiKeys: [k] } }
`))) as { rules: Array<Record<string, unknown>> };
    generic.rules[0]!.message = "X is closed";
    const runner = await PolicyRunner.create(JSON.stringify(generic), { wasm: await authWasm() });
    expect(runner.run({ path: "/a.B/X" })).toMatchObject({ code: 7, message: "permission denied", rule: "deny-x" });
    expect(runner.run({ path: "/a.B/Y" })).toMatchObject({ code: 16, message: "unauthenticated" });
    expect(runner.run({ path: "/a.B/Y", metadata: [["x-api-key", "key-1"]] }).forwarded).toContainEqual(["x-api-key", "key-1"]);
    await runner.close();
    const custom = await runnerFor(`apiVersion: meshwasm.io/v1alpha1
kind: GrpcAuthPolicy
metadata: { name: opts }
spec:
  rules: [{ name: deny-x, action: DENY, methods: ["/a.B/X"], message: "X is closed" }]
`);
    expect(custom.runner.run({ path: "/a.B/X" })).toMatchObject({ code: 7, message: "X is closed" });
    expect(custom.runner.run({ path: "/a.B/Y" })).toMatchObject({ allowed: true, rule: "_default" });
    await custom.runner.close();
  });

  it("rejects an invalid configuration at load, naming the field", async () => {
    const good = JSON.parse(compilePolicy((await runnerFor(fixturePolicyYaml())).policy)) as Record<string, unknown>;
    const bad = { ...good, rules: [{ name: "r", action: "ALLOW", methods: ["/a.B/C"], source_ips: ["10.0.0.1/8"] }] };
    await expect(PolicyRunner.create(JSON.stringify(bad), { wasm: await authWasm() })).rejects.toThrow(
      /grpc-auth: invalid configuration: rules\[0\]\.source_ips\[0\]: invalid value/,
    );
    await expect(PolicyRunner.create("{", { wasm: await authWasm() })).rejects.toThrow(/invalid configuration: invalid JSON/);
    await expect(PolicyRunner.create(JSON.stringify({ version: 1, rules: [] }), { wasm: await authWasm() })).rejects.toThrow(/rules: must not be empty/);
    const key = { ...good, jwt: { providers: [{ name: "p", issuer: "i", keys: [{ alg: "EdDSA", x: b64u(new Uint8Array(32).fill(0xff)) }] }] } };
    await expect(PolicyRunner.create(JSON.stringify(key), { wasm: await authWasm() })).rejects.toThrow(/jwt\.providers\[0\]\.keys\[0\]\.x/);
  });
});
