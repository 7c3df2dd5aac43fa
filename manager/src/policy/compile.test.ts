/**
 * Compilation to pluginConfig: canonical (the same policy written in any key order gives the same
 * bytes), secrets only as hashes, and gRFC A43 policies compiled to the same model and config as
 * the GrpcAuthPolicy that says the same thing.
 */
import { describe, expect, it } from "vitest";
import { compilePolicy, hashApiKey, hashPassword, loadPolicy } from "./index.ts";

const KEY_HASH = hashApiKey("secret-key-123");
const PASSWORD_HASH = hashPassword("secret-password-123", 1000, Buffer.from("salt-salt-salt"));

const A = `apiVersion: meshwasm.io/v1alpha1
kind: GrpcAuthPolicy
metadata: { name: p }
spec:
  credentials:
    apiKeys: { keys: [{ name: k, sha256: ${KEY_HASH} }] }
    passwords: { users: [{ name: u, hash: "${PASSWORD_HASH}" }] }
  rules:
    - { name: d, action: DENY, methods: ["/a.B/C"], from: { principals: ["cluster.local/ns/x/sa/*"] } }
    - { name: a, action: ALLOW, methods: ["/a.*", "/b.C/*"], from: { apiKeys: [k], sourceIps: ["10.0.0.0/8"] }, when: { headers: [{ name: x-e, prefixes: [p] }] } }
`;
const B = `kind: GrpcAuthPolicy
spec:
  rules:
    - { methods: ["/a.B/C"], action: DENY, from: { principals: ["spiffe://cluster.local/ns/x/sa/*"] }, name: d }
    - { when: { headers: [{ prefixes: [p], name: x-e }] }, from: { sourceIps: ["10.0.0.0/8"], apiKeys: [k] }, methods: ["/a.*", "/b.C/*"], action: ALLOW, name: a }
  credentials:
    passwords: { users: [{ hash: "${PASSWORD_HASH}", name: u }] }
    apiKeys: { keys: [{ sha256: ${KEY_HASH}, name: k }] }
metadata: { name: p }
apiVersion: meshwasm.io/v1alpha1
`;

describe("compilePolicy", () => {
  it("is canonical: key order and quoting do not change the bytes", () => {
    const a = compilePolicy(loadPolicy(A, "a.yaml").policy);
    const b = compilePolicy(loadPolicy(B, "b.yaml").policy);
    expect(a).toBe(b);
    expect(a).toBe(compilePolicy(loadPolicy(A, "a.yaml").policy));
    const keysSorted = (v: unknown): boolean =>
      Array.isArray(v) ? v.every(keysSorted)
        : v !== null && typeof v === "object" ? Object.keys(v).join() === Object.keys(v).sort().join() && Object.values(v).every(keysSorted) : true;
    expect(keysSorted(JSON.parse(a))).toBe(true);
    expect(a).not.toMatch(/\s/);
  });

  it("carries secrets only as hashes", () => {
    const json = compilePolicy(loadPolicy(A, "a.yaml").policy);
    expect(json).toContain(KEY_HASH);
    expect(json).not.toContain("secret-key-123");
    expect(json).not.toContain("secret-password-123");
    const users = (JSON.parse(json) as { passwords: { users: Array<Record<string, unknown>> } }).passwords.users;
    expect(users[0]).toEqual({ name: "u", iterations: 1000, salt: Buffer.from("salt-salt-salt").toString("base64url"), hash: expect.any(String) });
  });

  it("writes principals, methods and CIDRs in canonical form", () => {
    const cfg = JSON.parse(compilePolicy(loadPolicy(A, "a.yaml").policy)) as { rules: Array<Record<string, unknown>> };
    expect(cfg.rules[0]).toMatchObject({ principals: ["spiffe://cluster.local/ns/x/sa/*"], methods: ["/a.B/C"] });
    expect(cfg.rules[1]).toMatchObject({ methods: ["/a.*", "/b.C/*"], source_ips: ["10.0.0.0/8"], headers: [{ name: "x-e", prefixes: ["p"] }] });
  });
});

describe("gRFC A43 input", () => {
  const A43 = JSON.stringify({
    name: "authz",
    deny_rules: [{ name: "deny-admin", request: { paths: ["/pkg.Admin/*"] }, source: { principals: ["spiffe://td/ns/dev/*"] } }],
    allow_rules: [
      { name: "reads", request: { paths: ["/other.Store/Get", "/pkg.*"], headers: [{ key: "x-tenant", values: ["acme", "beta*"] }] } },
      { name: "anyone-health", request: { paths: ["/grpc.health.v1.Health/Check"] } },
      { name: "peers", source: { principals: ["*"] } },
    ],
    audit_logging_options: { audit_condition: "ON_DENY_AND_ALLOW", audit_loggers: [{ stdout_logger: {} }] },
  }, null, 2);

  it("compiles to the same pluginConfig as the equivalent GrpcAuthPolicy", () => {
    const { policy, format } = loadPolicy(A43, "authz.json");
    expect(format).toBe("gRFC A43");
    const yaml = `apiVersion: meshwasm.io/v1alpha1
kind: GrpcAuthPolicy
metadata: { name: authz }
spec:
  auditLog: all
  rules:
    - { name: deny-admin, action: DENY, methods: ["/pkg.Admin/*"], from: { principals: ["spiffe://td/ns/dev/sa/*"] } }
    - { name: reads, action: ALLOW, methods: ["/other.Store/Get", "/pkg.*"], when: { headers: [{ name: x-tenant, values: [acme] }] } }
    - { name: anyone-health, action: ALLOW, methods: ["/grpc.health.v1.Health/Check"] }
    - { name: peers, action: ALLOW, methods: ["*"], from: { principals: ["*"] } }
`;
    const fromYaml = JSON.parse(compilePolicy(loadPolicy(yaml, "p.yaml").policy)) as { rules: Array<{ headers?: unknown[] }> };
    const fromA43 = JSON.parse(compilePolicy(policy)) as { rules: Array<{ headers?: unknown[] }> };
    // A43 may mix exact and prefix values in one header matcher; YAML writes one form per condition.
    expect(fromA43.rules[1]!.headers).toEqual([{ name: "x-tenant", values: ["acme"], prefixes: ["beta"] }]);
    fromA43.rules[1]!.headers = fromYaml.rules[1]!.headers;
    expect(fromA43).toEqual(fromYaml);
  });
});
