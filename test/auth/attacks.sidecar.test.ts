/**
 * The attack suite end to end: the grpc-auth filter (release build) in the local sidecar's chain
 * after Envoy's jwt_authn (an ES256 provider writing its verified payload to dynamic metadata, as
 * Istio's RequestAuthentication does), on a plaintext listener and on a TLS listener that asks for
 * client certificates (SPIFFE IDs from a test CA); real @grpc/grpc-js clients, raw HTTP/2 for the
 * paths grpc-js will not send, and a raw HTTP/2 writer for header bytes no HTTP/2 peer may send.
 * Every case asserts the status the client sees, the rule named in grpc-message, and the counter
 * grpc_auth_decisions_total{auth_rule, auth_decision, grpc_code} on the sidecar.
 */
import * as http2 from "node:http2";
import * as net from "node:net";
import * as grpc from "@grpc/grpc-js";
import { exportJWK, generateKeyPair, SignJWT, type JWK } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compilePolicy } from "../../manager/src/policy/index.ts";
import { startSidecar } from "../../manager/src/sidecar/proxy/sidecar.ts";
import { HpackDecoder } from "../../manager/src/sidecar/http/h2/hpack/decoder.ts";
import { encodeInteger, integerLength } from "../../manager/src/sidecar/http/h2/hpack/integer.ts";
import { authWasm, policyOf } from "../../filters/grpc-auth/test/harness.ts";
import { fixturePolicyYaml, ISS, SECRETS } from "../../filters/grpc-auth/test/fixture.ts";
import { createTestCa, spiffeId, type TestCa, type TestCertificate } from "../support/certs.ts";
import { wasmFilter, writeEnvoyConfig } from "../support/envoy-config.ts";
import { startHarness, type Harness } from "../support/sidecar-harness.ts";
import { ATTACKS, GO_CODES, now, type AttackCase } from "./attack-cases.ts";

const JWT_TYPE = "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication";
const TLS_TYPE = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext";
const TAGS = ["auth_rule", "auth_decision", "grpc_code", "grpc_service", "grpc_method"];

let h: Harness;
let ca: TestCa;
let serverCert: TestCertificate;
const peerCerts = new Map<string, TestCertificate>();
let meshKey: CryptoKey;
let meshJwk: JWK;
const clients: grpc.Client[] = [];
let plainPort: number;
let tlsPort: number;

function sidecarFilters(config: string): unknown[] {
  return [
    {
      name: "envoy.filters.http.jwt_authn",
      typed_config: {
        "@type": JWT_TYPE,
        providers: {
          mesh: {
            issuer: ISS.mesh,
            local_jwks: { inline_string: JSON.stringify({ keys: [meshJwk] }) },
            from_headers: [{ name: "x-mesh-jwt", value_prefix: "Bearer " }],
            payload_in_metadata: "payload",
            normalize_payload_in_metadata: { space_delimited_claims: ["permission", "scope"] },
          },
        },
        rules: [{ match: { prefix: "/" }, requires: { requires_any: { requirements: [{ provider_name: "mesh" }, { allow_missing: {} }] } } }],
      },
    },
    wasmFilter({ name: "grpc-auth", filename: "grpc-auth.wasm", configuration: config, failurePolicy: "FAIL_CLOSED" }),
  ];
}

beforeAll(async () => {
  ca = createTestCa();
  serverCert = ca.issue({ commonName: "echo.default", dnsNames: ["localhost"] });
  for (const ns of ["prod", "dev"]) peerCerts.set(spiffeId(ns, "worker"), ca.issue({ commonName: `worker.${ns}`, uris: [spiffeId(ns, "worker")] }));
  const pair = await generateKeyPair("ES256");
  meshKey = pair.privateKey as CryptoKey;
  meshJwk = { ...(await exportJWK(pair.publicKey)), kid: "mesh-1", alg: "ES256" };
  const config = compilePolicy(policyOf(fixturePolicyYaml()));
  h = await startHarness({
    files: { "grpc-auth.wasm": await authWasm() },
    config: () => ({ admin: true, httpFilters: sidecarFilters(config) }),
    edit: (b) => {
      b.stats_config = { use_all_default_tags: false, stats_tags: TAGS.map((t) => ({ tag_name: t, regex: `(${t}=\\.=(.*?);\\.;)` })) };
      const listeners = (b.static_resources as { listeners: Array<Record<string, unknown>> }).listeners;
      const tls = structuredClone(listeners[0]!) as { name: string; filter_chains: Array<Record<string, unknown>> };
      tls.name = "ingress-tls";
      tls.filter_chains[0]!.transport_socket = {
        name: "envoy.transport_sockets.tls",
        typed_config: {
          "@type": TLS_TYPE,
          common_tls_context: {
            tls_certificates: [{ certificate_chain: { inline_string: serverCert.certPem }, private_key: { inline_string: serverCert.keyPem } }],
            alpn_protocols: ["h2"],
            validation_context: { trusted_ca: { inline_string: ca.certPem } },
          },
        },
      };
      listeners.push(tls);
    },
  });
  plainPort = h.sidecar.listeners.find((l) => l.name !== "ingress-tls")!.port;
  tlsPort = h.sidecar.listeners.find((l) => l.name === "ingress-tls")!.port;
}, 180_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await h?.stop();
});

function client(peer?: string): grpc.Client {
  const c = peer === undefined
    ? new grpc.Client(`127.0.0.1:${plainPort}`, grpc.credentials.createInsecure())
    : new grpc.Client(`127.0.0.1:${tlsPort}`, grpc.credentials.createSsl(Buffer.from(ca.certPem), Buffer.from(peerCerts.get(peer)!.keyPem), Buffer.from(peerCerts.get(peer)!.certPem)), {
      "grpc.ssl_target_name_override": "localhost",
    });
  clients.push(c);
  return c;
}

async function meshToken(claims: Record<string, unknown>): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: "ES256", kid: "mesh-1" }).setIssuer(ISS.mesh).setIssuedAt().setExpirationTime(now() + 600).sign(meshKey);
}

interface Seen {
  code: number;
  message: string;
}

/** A unary call to any method path (the message is empty bytes). */
function unaryCall(c: grpc.Client, path: string, md: grpc.Metadata): Promise<Seen & { reply?: Buffer }> {
  return new Promise((resolve) => {
    c.makeUnaryRequest(path, (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), md, { deadline: Date.now() + 10_000 }, (err, reply) =>
      resolve(err ? { code: err.code, message: err.details } : { code: 0, message: "", ...(reply ? { reply } : {}) }),
    );
  });
}

/** One request over raw HTTP/2 (node:http2 sends any :path); a trailers-only gRPC answer. */
async function h2Call(path: string, headers: Array<[string, string]>): Promise<Seen> {
  const session = http2.connect(`http://127.0.0.1:${plainPort}`);
  try {
    return await new Promise<Seen>((resolve, reject) => {
      session.on("error", reject);
      const req = session.request(
        { ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers", ...Object.fromEntries(headers.map(([k, v]) => [k.toLowerCase(), v])) },
        { endStream: true },
      );
      req.on("response", (hd) => resolve({ code: Number(hd["grpc-status"]), message: decodeURIComponent(String(hd["grpc-message"] ?? "")) }));
      req.on("error", reject);
      req.resume();
    });
  } finally {
    session.close();
  }
}

function decisions(rule: string, decision: string, code: string): bigint {
  return h.counter(`wasmcustom.auth_rule=.=${rule};.;auth_decision=.=${decision};.;grpc_code=.=${code};.;grpc_auth_decisions_total`) ?? 0n;
}

async function send(c: AttackCase): Promise<Seen> {
  const headers: Array<[string, string]> = [...(c.metadata ?? [])];
  if (c.token) headers.push(["authorization", `Bearer ${c.token()}`]);
  if (c.mesh) headers.push(["x-mesh-jwt", `Bearer ${await meshToken(c.mesh)}`]);
  if (c.wire === "h2") return h2Call(c.path, headers);
  if (c.wire === "raw") {
    const r = await rawRequest(plainPort, [...REQUEST_BASE(c.path), ...headers]);
    if (r.reset || !r.headers) throw new Error("the sidecar reset the stream");
    return { code: Number(r.headers["grpc-status"]), message: decodeURIComponent(r.headers["grpc-message"] ?? "") };
  }
  const md = new grpc.Metadata();
  for (const [k, v] of headers) md.add(k, v);
  return unaryCall(client(c.peer), c.path, md);
}

describe("attack suite through the sidecar", () => {
  for (const c of ATTACKS) {
    it(c.name, async () => {
      const decision = c.expect.code === 0 ? "allowed" : "denied";
      const code = GO_CODES[c.expect.code]!;
      const before = decisions(c.expect.rule, decision, code);
      const seen = await send(c);
      if (c.expect.code === 0) {
        // Through the filter: the echo backend answers its own methods, and UNIMPLEMENTED for the others.
        expect(seen.code).toBe(c.path.startsWith("/meshtest.Echo/") ? 0 : grpc.status.UNIMPLEMENTED);
      } else {
        expect(seen.code).toBe(c.expect.code);
        expect(seen.message).toContain(`(rule "${c.expect.rule}")`);
        if (c.expect.message) expect(seen.message).toContain(c.expect.message);
      }
      expect(decisions(c.expect.rule, decision, code)).toBe(before + 1n);
    });
  }
});

describe("what reaches the backend", () => {
  it("credentials are stripped from allowed calls; denied calls never reach it", async () => {
    const md = new grpc.Metadata();
    md.set("x-api-key", SECRETS.apiKeys.ci);
    md.set("x-trace", "kept");
    const ok = await unaryCall(client(), "/meshtest.Echo/Unary", md);
    expect(ok.code).toBe(0);
    const seen = h.backends[0]!.calls.at(-1)!;
    expect(seen.metadata["x-trace"]).toBe("kept");
    expect(seen.metadata["x-api-key"]).toBeUndefined();
    const calls = h.backends[0]!.calls.length;
    const denied = await unaryCall(client(), "/meshtest.Echo/Unary", new grpc.Metadata());
    expect(denied.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(h.backends[0]!.calls.length).toBe(calls);
  });

  it("a token jwt_authn cannot verify is refused by jwt_authn itself, before grpc-auth decides", async () => {
    const md = new grpc.Metadata();
    md.set("x-mesh-jwt", `Bearer ${(await meshToken({ scope: "store.read" })).slice(0, -4)}AAAA`);
    const total = () => ["allowed", "denied"].reduce((n, d) => n + GO_CODES.reduce((m, code) => m + decisions("scoped", d, code) + decisions("_default", d, code) + decisions("_authn", d, code), 0n), 0n);
    const before = total();
    const r = await unaryCall(client(), "/test.Store/Read", md);
    expect(r.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(r.message).toBe("Jwt verification fails");
    expect(total()).toBe(before);
  });

  it("a non-gRPC request is answered 401 / 403 by the filter", async () => {
    const res = await fetch(`http://127.0.0.1:${plainPort}/meshtest.Echo/Unary`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(res.status).toBe(401);
    expect(await res.text()).toBe('grpc-auth: unauthenticated: credentials required (rule "_default")');
  });
});

/** A literal header field without indexing, new name (RFC 7541 §6.2.2), lengths as HPACK integers, no Huffman. */
function literalField(name: string, value: string): Buffer {
  const str = (s: string) => {
    const b = Buffer.from(s, "latin1");
    const len = Buffer.alloc(integerLength(b.length, 7));
    encodeInteger(len, 0, b.length, 7, 0);
    return Buffer.concat([len, b]);
  };
  return Buffer.concat([Buffer.of(0), str(name), str(value)]);
}

/**
 * One request as raw HTTP/2 frames on a fresh connection (fields written verbatim, even those a
 * conforming client refuses to send); the answer: a reset, or the response headers decoded.
 */
function rawRequest(port: number, fields: Array<[string, string]>): Promise<{ reset: boolean; headers?: Record<string, string> }> {
  const block = Buffer.concat(fields.map(([k, v]) => literalField(k, v)));
  const frame = (type: number, flags: number, stream: number, payload: Buffer) => {
    const hdr = Buffer.alloc(9);
    hdr.writeUIntBE(payload.length, 0, 3);
    hdr[3] = type;
    hdr[4] = flags;
    hdr.writeUInt32BE(stream, 5);
    return Buffer.concat([hdr, payload]);
  };
  const decoder = new HpackDecoder();
  return new Promise((resolve) => {
    const sock = net.connect(port, "127.0.0.1", () => {
      sock.write(Buffer.concat([Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), frame(4, 0, 0, Buffer.alloc(0)), frame(1, 0x5, 1, block)]));
    });
    let buf = Buffer.alloc(0);
    let settled = false;
    const done = (r: { reset: boolean; headers?: Record<string, string> }) => {
      if (settled) return;
      settled = true;
      sock.destroy();
      resolve(r);
    };
    sock.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 9) {
        const len = buf.readUIntBE(0, 3);
        if (buf.length < 9 + len) return;
        const type = buf[3]!;
        const flags = buf[4]!;
        const stream = buf.readUInt32BE(5) & 0x7fffffff;
        const payload = buf.subarray(9, 9 + len);
        if (type === 4 && (flags & 1) === 0) sock.write(frame(4, 1, 0, Buffer.alloc(0)));
        if ((type === 3 && stream === 1) || type === 7) return done({ reset: true });
        if (type === 1 && stream === 1) {
          const flat = decoder.decode(payload);
          const headers: Record<string, string> = {};
          for (let i = 0; i < flat.length; i += 2) headers[flat[i]!] = flat[i + 1]!;
          return done({ reset: false, headers });
        }
        buf = buf.subarray(9 + len);
      }
    });
    sock.on("error", () => done({ reset: true }));
    sock.on("close", () => done({ reset: true }));
  });
}

const REQUEST_BASE = (path: string): Array<[string, string]> => [
  [":method", "POST"], [":scheme", "http"], [":path", path], [":authority", "x"], ["content-type", "application/grpc"], ["te", "trailers"],
];

describe("header bytes no HTTP/2 peer may send", () => {
  const base = REQUEST_BASE("/meshtest.Echo/Unary");
  for (const [name, extra] of [
    ["NUL in an API key", ["x-api-key", `${SECRETS.apiKeys.ci}\u0000`]],
    ["CR LF in an API key", ["x-api-key", `${SECRETS.apiKeys.ci}\r\nx-admin: 1`]],
    ["an upper-case header name", ["X-Api-Key", SECRETS.apiKeys.ci]],
  ] as Array<[string, [string, string]]>) {
    it(`${name}: the codec refuses the stream before any filter (RFC 9113 §8.2.1)`, async () => {
      const count = () => GO_CODES.reduce((n, code) => n + decisions("echo-keys", "allowed", code) + decisions("_authn", "denied", code), 0n);
      const before = count();
      const calls = h.backends[0]!.calls.length;
      const r = await rawRequest(plainPort, [...base, extra]);
      expect(r.reset).toBe(true);
      expect(count()).toBe(before);
      expect(h.backends[0]!.calls.length).toBe(calls);
    });
  }
});

describe("fail closed", () => {
  it("a configuration the filter rejects stops the sidecar from serving, naming the field", async () => {
    const bad = JSON.parse(compilePolicy(policyOf(fixturePolicyYaml()))) as { rules: Array<Record<string, unknown>> };
    bad.rules[0]!.source_ips = ["10.0.0.1/8"];
    const { envoyConfig } = await import("../support/envoy-config.ts");
    const cfg = await writeEnvoyConfig(
      envoyConfig({ clusters: [{ name: "backend", ports: [1] }], httpFilters: [wasmFilter({ name: "grpc-auth", filename: "grpc-auth.wasm", configuration: JSON.stringify(bad), failurePolicy: "FAIL_CLOSED" })] }),
      { "grpc-auth.wasm": await authWasm() },
    );
    const lines: string[] = [];
    try {
      await expect(startSidecar({ configPath: cfg.path }, { log: (l) => lines.push(l) })).rejects.toThrow(/http_filters\[0\].*configure returned false/);
      expect(lines.join("\n")).toContain("grpc-auth: invalid configuration: rules[0].source_ips[0]: invalid value");
    } finally {
      await cfg.cleanup();
    }
  });
});
