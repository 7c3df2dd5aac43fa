/**
 * connection.* properties on a TLS connection, as Envoy's ConnectionWrapper and SSL extractors
 * serve them: mtls, tls_version, requested_server_name, the peer's and the local certificate's
 * RFC 2253 subject, first URI and DNS SAN (NotFound without one), the peer certificate's
 * SHA-256 digest (NotFound without a peer certificate); the certificates are DER built here.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { WasmResult } from "./abi.ts";
import { getProperty, type PropertyScope } from "./properties.ts";
import { VirtualClock } from "./clock.ts";
import { StreamInfo } from "../http/stream-info.ts";
import { SslConnectionInfo } from "../tls/connection-info.ts";
import { certificate, name, printable, subjectAltNameExtension, utf8 } from "../tls/testing-der.ts";

const te = new TextEncoder();

function scopeWith(ssl?: SslConnectionInfo): PropertyScope {
  const s = new StreamInfo({ wallMs: 0, monoNs: 0n });
  s.downstreamSsl = ssl;
  return { stream: s, plugin: { name: "p", rootId: "", vmId: "" }, isRootContext: false, clock: new VirtualClock() };
}

const get = (scope: PropertyScope, path: string) => getProperty(path.split("."), scope);

const peer = certificate(name([[["2.5.4.6", printable("US")]], [["2.5.4.3", utf8("frontend")]]]), [
  subjectAltNameExtension([[6, "spiffe://cluster.local/ns/shop/sa/frontend"], [2, "frontend.shop"], [6, "urn:second"]]),
]);
const local = certificate(name([[["2.5.4.3", utf8("server")]]]), [subjectAltNameExtension([[2, "localhost"]])]);

describe("connection properties on TLS", () => {
  it("serves the peer and local certificate facts", () => {
    const scope = scopeWith(new SslConnectionInfo("TLSv1.3", "svc.local", "h2", "TLS_AES_128_GCM_SHA256", peer, local));
    const expectValue = (path: string, value: Uint8Array) => expect(get(scope, path), path).toEqual({ result: WasmResult.Ok, value });
    expectValue("connection.mtls", Uint8Array.of(1));
    expectValue("connection.tls_version", te.encode("TLSv1.3"));
    expectValue("connection.requested_server_name", te.encode("svc.local"));
    expectValue("connection.subject_peer_certificate", te.encode("CN=frontend,C=US"));
    expectValue("connection.uri_san_peer_certificate", te.encode("spiffe://cluster.local/ns/shop/sa/frontend"));
    expectValue("connection.dns_san_peer_certificate", te.encode("frontend.shop"));
    expectValue("connection.sha256_peer_certificate_digest", te.encode(createHash("sha256").update(peer).digest("hex")));
    expectValue("connection.subject_local_certificate", te.encode("CN=server"));
    expectValue("connection.dns_san_local_certificate", te.encode("localhost"));
    expect(get(scope, "connection.uri_san_local_certificate").result).toBe(WasmResult.NotFound);
    expect(get(scope, "connection.termination_details").result).toBe(WasmResult.NotFound);
  });

  it("without a client certificate: mtls false, an empty peer subject, no SANs and no digest", () => {
    const scope = scopeWith(new SslConnectionInfo("TLSv1.2", "", "", "ECDHE-RSA-AES128-GCM-SHA256", undefined, local));
    expect(get(scope, "connection.mtls")).toEqual({ result: WasmResult.Ok, value: Uint8Array.of(0) });
    expect(get(scope, "connection.subject_peer_certificate")).toEqual({ result: WasmResult.Ok, value: new Uint8Array() });
    for (const p of ["uri_san_peer_certificate", "dns_san_peer_certificate", "sha256_peer_certificate_digest"]) {
      expect(get(scope, `connection.${p}`).result, p).toBe(WasmResult.NotFound);
    }
    expect(get(scope, "connection.tls_version")).toEqual({ result: WasmResult.Ok, value: te.encode("TLSv1.2") });
  });

  it("on plaintext: mtls false, requested_server_name empty, the TLS names NotFound", () => {
    const scope = scopeWith(undefined);
    expect(get(scope, "connection.mtls")).toEqual({ result: WasmResult.Ok, value: Uint8Array.of(0) });
    expect(get(scope, "connection.requested_server_name")).toEqual({ result: WasmResult.Ok, value: new Uint8Array() });
    for (const p of ["tls_version", "subject_peer_certificate", "subject_local_certificate", "uri_san_peer_certificate"]) {
      expect(get(scope, `connection.${p}`).result, p).toBe(WasmResult.NotFound);
    }
  });
});
