/**
 * Downstream TLS and mTLS through the sidecar (issue 10 §4), end to end with @grpc/grpc-js:
 * a listener whose filter chain has an envoy.transport_sockets.tls DownstreamTlsContext
 * (certificate, validation_context.trusted_ca, require_client_certificate, ALPN h2 and
 * http/1.1), certificates made by the test's own CA with SPIFFE URI SANs, and a Wasm filter
 * that echoes the connection.* properties into response headers, so what a filter reads is
 * checked byte for byte. Handshake failures are checked by their listener ssl.* counters.
 */
import { createHash, X509Certificate } from "node:crypto";
import * as https from "node:https";
import * as tls from "node:tls";
import * as grpc from "@grpc/grpc-js";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { createTestCa, spiffeId, type TestCa, type TestCertificate } from "../support/certs.ts";
import { EchoService, LARGE_MESSAGES, type EchoClient, type EchoReply } from "../support/grpc-echo.ts";
import { startHarness, type Harness } from "../support/sidecar-harness.ts";
import { wasmFilter } from "../support/envoy-config.ts";
import { echoedString, echoedValue, propertyEchoGuest } from "./tls-property-guest.ts";

const TLS_TYPE = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext";

const PROPS = [
  { header: "x-mtls", path: ["connection", "mtls"] },
  { header: "x-uri-san", path: ["connection", "uri_san_peer_certificate"] },
  { header: "x-dns-san", path: ["connection", "dns_san_peer_certificate"] },
  { header: "x-subject", path: ["connection", "subject_peer_certificate"] },
  { header: "x-digest", path: ["connection", "sha256_peer_certificate_digest"] },
  { header: "x-tls-version", path: ["connection", "tls_version"] },
  { header: "x-sni", path: ["connection", "requested_server_name"] },
  { header: "x-local-subject", path: ["connection", "subject_local_certificate"] },
  { header: "x-local-dns-san", path: ["connection", "dns_san_local_certificate"] },
  { header: "x-local-uri-san", path: ["connection", "uri_san_local_certificate"] },
];

let ca: TestCa;
let server: TestCertificate;
let client: TestCertificate;
let stranger: TestCertificate;
let guest: Uint8Array;

beforeAll(async () => {
  ca = createTestCa();
  server = ca.issue({ subject: [{ shortName: "O", value: "mesh" }, { shortName: "CN", value: "echo.default" }], dnsNames: ["localhost"] });
  client = ca.issue({
    subject: [{ shortName: "C", value: "US" }, { shortName: "O", value: "Acme, Inc." }, { shortName: "CN", value: "frontend" }],
    uris: [spiffeId("shop", "frontend"), "spiffe://cluster.local/ns/shop/sa/second"],
    dnsNames: ["frontend.shop.svc"],
  });
  stranger = createTestCa("another CA").issue({ commonName: "stranger", uris: [spiffeId("evil", "mallory")] });
  guest = await propertyEchoGuest(PROPS).build();
}, 60_000);

let h: Harness | undefined;
const clients: grpc.Client[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await h?.stop();
  h = undefined;
});

function tlsContext(opts: { requireClientCertificate?: boolean; trustedCa?: boolean; alpn?: string[] }): Record<string, unknown> {
  const ctx: Record<string, unknown> = {
    "@type": TLS_TYPE,
    common_tls_context: {
      tls_certificates: [{ certificate_chain: { inline_string: server.certPem }, private_key: { inline_string: server.keyPem } }],
      alpn_protocols: opts.alpn ?? ["h2", "http/1.1"],
      ...(opts.trustedCa === false ? {} : { validation_context: { trusted_ca: { inline_string: ca.certPem } } }),
    },
  };
  if (opts.requireClientCertificate !== undefined) ctx.require_client_certificate = opts.requireClientCertificate;
  return ctx;
}

async function startTlsSidecar(ctx: Record<string, unknown> | undefined): Promise<Harness> {
  return startHarness({
    files: { "echo.wasm": guest },
    config: () => ({
      httpFilters: [wasmFilter({ name: "props", filename: "echo.wasm" })],
      routes: [
        { match: { prefix: "/plain" }, direct_response: { status: 200, body: { inline_string: "plain ok" } } },
        { match: { prefix: "/" }, route: { cluster: "backend" } },
      ],
    }),
    edit: (b) => {
      const listener = (b.static_resources as { listeners: Array<{ filter_chains: Array<Record<string, unknown>> }> }).listeners[0]!;
      if (ctx) listener.filter_chains[0]!.transport_socket = { name: "envoy.transport_sockets.tls", typed_config: ctx };
    },
  });
}

function tlsClient(port: number, cert?: TestCertificate): EchoClient {
  const creds = grpc.credentials.createSsl(
    Buffer.from(ca.certPem),
    cert ? Buffer.from(cert.keyPem) : null,
    cert ? Buffer.from(cert.certPem) : null,
  );
  const c = new EchoService(`127.0.0.1:${port}`, creds, { ...LARGE_MESSAGES, "grpc.ssl_target_name_override": "localhost" }) as unknown as EchoClient;
  clients.push(c);
  return c;
}

/** A unary call with its response headers (initial metadata). */
function call(c: EchoClient, metadata = new grpc.Metadata()): Promise<{ reply: EchoReply; headers: Record<string, string> }> {
  return new Promise((resolve, reject) => {
    let headers: Record<string, string> = {};
    const call = c.Unary({ message: "hi" }, metadata, { deadline: Date.now() + 10_000 }, (err, reply) => {
      if (err) reject(err);
      else resolve({ reply: reply!, headers });
    });
    call.on("metadata", (md: grpc.Metadata) => {
      headers = Object.fromEntries(Object.entries(md.getMap()).map(([k, v]) => [k, String(v)]));
    });
  });
}

function counter(name: string): bigint | undefined {
  return h!.counter(`listener.127.0.0.1_${h!.port}.ssl.${name}`);
}

const sha256Hex = (pem: string) => createHash("sha256").update(new X509Certificate(pem).raw).digest("hex");

describe("downstream mTLS (require_client_certificate with trusted_ca)", () => {
  it("serves gRPC over TLS with ALPN h2 and shows the client certificate to the Wasm filter", async () => {
    h = await startTlsSidecar(tlsContext({ requireClientCertificate: true }));
    const md = new grpc.Metadata();
    md.set("x-forwarded-client-cert", "By=spoofed");
    const { reply, headers } = await call(tlsClient(h.port, client), md);
    expect(reply.backend).toBe("b1");
    expect(echoedValue(headers["x-mtls"]).bytes).toEqual(Buffer.from([1]));
    expect(echoedString(headers["x-uri-san"])).toBe("spiffe://cluster.local/ns/shop/sa/frontend");
    expect(echoedString(headers["x-dns-san"])).toBe("frontend.shop.svc");
    // RFC 2253: most specific first, "," between RDNs, the comma in the value escaped.
    expect(echoedString(headers["x-subject"])).toBe("CN=frontend,O=Acme\\, Inc.,C=US");
    expect(echoedString(headers["x-digest"])).toBe(sha256Hex(client.certPem));
    expect(echoedString(headers["x-tls-version"])).toBe("TLSv1.3");
    expect(echoedString(headers["x-sni"])).toBe("localhost");
    expect(echoedString(headers["x-local-subject"])).toBe("CN=echo.default,O=mesh");
    expect(echoedString(headers["x-local-dns-san"])).toBe("localhost");
    expect(echoedValue(headers["x-local-uri-san"]).status).toBe(1); // NotFound: no URI SAN
    // The upstream request: scheme from the TLS connection, the spoofed XFCC removed (SANITIZE).
    expect(reply.headers["x-forwarded-proto"]).toBe("https");
    expect(reply.headers["x-forwarded-client-cert"]).toBeUndefined();
    expect(counter("handshake")).toBe(1n);
    expect(counter("versions.TLSv1.3")).toBe(1n);
    expect(counter("no_certificate")).toBe(0n);
    // Closing the TLS connection closes the accepted socket: the connection gauges return to 0.
    for (const c of clients.splice(0)) c.close();
    const active = () => [h!.counter(`listener.127.0.0.1_${h!.port}.downstream_cx_active`), h!.counter("http.ingress_http.downstream_cx_http2_active")];
    for (let i = 0; i < 100 && active().some((v) => v !== 0n); i++) await new Promise((r) => setTimeout(r, 20));
    expect(active()).toEqual([0n, 0n]);
    expect(h.counter(`listener.127.0.0.1_${h.port}.downstream_cx_destroy`)).toBe(1n);
  });

  it("negotiates h2 or http/1.1 by ALPN; an HTTP/1.1 client is served too", async () => {
    h = await startTlsSidecar(tlsContext({ requireClientCertificate: true }));
    const port = h.port;
    const alpnOf = (protocols: string[]) =>
      new Promise<string | false | null>((resolve, reject) => {
        const s = tls.connect({ port, host: "127.0.0.1", servername: "localhost", ca: ca.certPem, cert: client.certPem, key: client.keyPem, ALPNProtocols: protocols });
        s.on("secureConnect", () => {
          resolve(s.alpnProtocol);
          s.end();
        });
        s.on("error", reject);
      });
    expect(await alpnOf(["h2", "http/1.1"])).toBe("h2");
    expect(await alpnOf(["http/1.1"])).toBe("http/1.1");
    const res = await new Promise<{ status: number; body: string; headers: Record<string, unknown> }>((resolve, reject) => {
      const req = https.get(
        { host: "127.0.0.1", port, path: "/plain", servername: "localhost", ca: ca.certPem, cert: client.certPem, key: client.keyPem },
        (r) => {
          let body = "";
          r.on("data", (d) => (body += d));
          r.on("end", () => resolve({ status: r.statusCode!, body, headers: r.headers }));
        },
      );
      req.on("error", reject);
    });
    expect(res.status).toBe(200);
    expect(res.body).toBe("plain ok");
    expect(echoedString(res.headers["x-uri-san"] as string)).toBe(spiffeId("shop", "frontend"));
  });

  it("refuses a client without a certificate in the handshake (ssl.fail_verify_no_cert)", async () => {
    h = await startTlsSidecar(tlsContext({ requireClientCertificate: true }));
    const err = await call(tlsClient(h.port)).then(() => undefined, (e: grpc.ServiceError) => e);
    expect(err?.code).toBe(grpc.status.UNAVAILABLE);
    expect(counter("fail_verify_no_cert")).toBeGreaterThanOrEqual(1n);
    expect(counter("handshake")).toBe(0n);
    expect(h.counter("http.ingress_http.downstream_rq_total")).toBe(0n);
  });

  it("refuses a client certificate from another CA (ssl.fail_verify_error)", async () => {
    h = await startTlsSidecar(tlsContext({ requireClientCertificate: true }));
    const err = await call(tlsClient(h.port, stranger)).then(() => undefined, (e: grpc.ServiceError) => e);
    expect(err?.code).toBe(grpc.status.UNAVAILABLE);
    expect(counter("fail_verify_error")).toBeGreaterThanOrEqual(1n);
    expect(counter("handshake")).toBe(0n);
    expect(h.counter("http.ingress_http.downstream_rq_total")).toBe(0n);
  });
});

describe("SAN matchers", () => {
  it("admit only client certificates with a matching SAN (ssl.fail_verify_san) and make one mandatory", async () => {
    const ctx = tlsContext({});
    const common = ctx.common_tls_context as Record<string, unknown>;
    common.validation_context = {
      trusted_ca: { inline_string: ca.certPem },
      match_typed_subject_alt_names: [{ san_type: "URI", matcher: { prefix: "spiffe://cluster.local/ns/shop/" } }],
    };
    h = await startTlsSidecar(ctx);
    const { headers } = await call(tlsClient(h.port, client));
    expect(echoedString(headers["x-uri-san"])).toBe(spiffeId("shop", "frontend"));
    const outsider = ca.issue({ commonName: "outsider", uris: [spiffeId("other", "x")] });
    const refused = await call(tlsClient(h.port, outsider)).then(() => undefined, (e: grpc.ServiceError) => e);
    expect(refused?.code).toBe(grpc.status.UNAVAILABLE);
    expect(counter("fail_verify_san")).toBeGreaterThanOrEqual(1n);
    const anonymous = await call(tlsClient(h.port)).then(() => undefined, (e: grpc.ServiceError) => e);
    expect(anonymous?.code).toBe(grpc.status.UNAVAILABLE);
    expect(counter("fail_verify_no_cert")).toBeGreaterThanOrEqual(1n);
    expect(counter("handshake")).toBe(1n);
  });
});

describe("handshake failures", () => {
  it("a plaintext HTTP/2 client fails the handshake (ssl.connection_error) and reaches no filter", async () => {
    h = await startTlsSidecar(tlsContext({ requireClientCertificate: true }));
    const c = new EchoService(`127.0.0.1:${h.port}`, grpc.credentials.createInsecure()) as unknown as EchoClient;
    clients.push(c);
    const err = await call(c).then(() => undefined, (e: grpc.ServiceError) => e);
    expect(err?.code).toBe(grpc.status.UNAVAILABLE);
    expect(counter("connection_error")).toBeGreaterThanOrEqual(1n);
    expect(counter("handshake")).toBe(0n);
    expect(h.counter("http.ingress_http.downstream_rq_total")).toBe(0n);
  });

  it("a client that only offers TLS 1.2 to a TLS 1.3-only listener is refused (ssl.connection_error)", async () => {
    const ctx = tlsContext({ requireClientCertificate: true });
    (ctx.common_tls_context as Record<string, unknown>).tls_params = { tls_minimum_protocol_version: "TLSv1_3" };
    h = await startTlsSidecar(ctx);
    const port = h.port;
    const failed = await new Promise<string>((resolve) => {
      const s = tls.connect({ port, host: "127.0.0.1", servername: "localhost", ca: ca.certPem, cert: client.certPem, key: client.keyPem, maxVersion: "TLSv1.2" });
      s.on("secureConnect", () => resolve("connected"));
      s.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? "error"));
    });
    expect(failed).toMatch(/^ERR_SSL_/);
    expect(counter("connection_error")).toBe(1n);
  });
});

describe("downstream TLS without a required client certificate", () => {
  it("with trusted_ca, a client may come without a certificate: mtls false, no peer SANs", async () => {
    h = await startTlsSidecar(tlsContext({ requireClientCertificate: false }));
    const { headers } = await call(tlsClient(h.port));
    expect(echoedValue(headers["x-mtls"]).bytes).toEqual(Buffer.from([0]));
    expect(echoedValue(headers["x-uri-san"]).status).toBe(1);
    expect(echoedValue(headers["x-dns-san"]).status).toBe(1);
    expect(echoedString(headers["x-subject"])).toBe("");
    expect(echoedValue(headers["x-digest"]).status).toBe(1);
    expect(echoedString(headers["x-tls-version"])).toBe("TLSv1.3");
    expect(counter("no_certificate")).toBe(1n);
    expect(counter("handshake")).toBe(1n);
  });

  it("with trusted_ca, a presented certificate is still validated", async () => {
    h = await startTlsSidecar(tlsContext({ requireClientCertificate: false }));
    const { headers } = await call(tlsClient(h.port, client));
    expect(echoedString(headers["x-uri-san"])).toBe(spiffeId("shop", "frontend"));
    const err = await call(tlsClient(h.port, stranger)).then(() => undefined, (e: grpc.ServiceError) => e);
    expect(err?.code).toBe(grpc.status.UNAVAILABLE);
    expect(counter("fail_verify_error")).toBeGreaterThanOrEqual(1n);
  });

  it("without a validation context, no client certificate is requested", async () => {
    h = await startTlsSidecar(tlsContext({ trustedCa: false }));
    const { headers } = await call(tlsClient(h.port, client));
    expect(echoedValue(headers["x-mtls"]).bytes).toEqual(Buffer.from([0]));
    expect(echoedValue(headers["x-uri-san"]).status).toBe(1);
  });
});

describe("plaintext listener", () => {
  it("has connection.mtls false and no TLS attributes", async () => {
    h = await startTlsSidecar(undefined);
    const c = new EchoService(`127.0.0.1:${h.port}`, grpc.credentials.createInsecure()) as unknown as EchoClient;
    clients.push(c);
    const { reply, headers } = await call(c);
    expect(echoedValue(headers["x-mtls"]).bytes).toEqual(Buffer.from([0]));
    expect(echoedString(headers["x-sni"])).toBe("");
    expect(echoedValue(headers["x-tls-version"]).status).toBe(1);
    expect(echoedValue(headers["x-subject"]).status).toBe(1);
    expect(reply.headers["x-forwarded-proto"]).toBe("http");
  });
});
