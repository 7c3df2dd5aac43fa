/**
 * The server side of a listener's envoy.transport_sockets.tls (Envoy's ServerContextImpl and
 * SslSocket, source/common/tls/): TLS handshakes on accepted sockets with the configured
 * certificates, protocol versions, cipher suites, curves and ALPN list, and client
 * certificates handled as Envoy's DownstreamTlsContext defines them:
 * - validation_context.trusted_ca set: a client certificate is requested; one that is
 *   presented must chain to the CA (else `ssl.fail_verify_error` and the connection closes);
 * - require_client_certificate (or SAN matchers, which imply it): a client without a
 *   certificate is refused (`ssl.fail_verify_no_cert`); with a CA, in the handshake itself
 *   (certificate_required);
 * - match_typed_subject_alt_names / match_subject_alt_names: a validated certificate none of
 *   whose SANs matches is refused (`ssl.fail_verify_san`), san-matcher.ts;
 * - neither: no client certificate is requested.
 * Stats under `listener.<address>.ssl.` as Envoy's SslStats (all defined at start-up):
 * handshake, session_reused, no_certificate (handshakes without a client certificate),
 * fail_verify_no_cert, fail_verify_error, connection_error (any other TLS failure in the
 * handshake; a peer that disconnects is not one), and
 * `versions.<TLSv1.x>` / `ciphers.<name>` per successful handshake.
 *
 * Node's TLS runs the handshake (a tls.Server that never listens is handed each accepted
 * socket). Node verifies a presented client certificate right after the handshake, not
 * inside it, so a certificate that does not chain to the CA is refused by closing the
 * connection at that point (BoringSSL in Envoy aborts the handshake with an alert).
 */
import type * as net from "node:net";
import * as tls from "node:tls";
import type { DownstreamTlsContextConfig } from "../config/model.ts";
import type { Counter, StatsStore } from "../stats/types.ts";
import { SslConnectionInfo } from "./connection-info.ts";
import { compileSanMatchers } from "./san-matcher.ts";

/** TLS 1.3 suites are not configurable in BoringSSL; Envoy offers these three. */
const TLS13_SUITES = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

const SSL_COUNTERS = [
  "connection_error", "handshake", "session_reused", "no_certificate", "fail_verify_no_cert",
  "fail_verify_error", "fail_verify_san", "fail_verify_cert_hash", "ocsp_staple_failed",
  "ocsp_staple_omitted", "ocsp_staple_responses", "ocsp_staple_requests", "was_key_usage_invalid",
] as const;

type SslStats = Record<(typeof SSL_COUNTERS)[number], Counter>;

export interface DownstreamTls {
  /**
   * Runs the TLS handshake on an accepted socket. `onSecure` gets the TLS socket and its
   * connection facts once the handshake succeeded and the client certificate rules hold;
   * otherwise the connection is closed and counted.
   */
  accept(raw: net.Socket, onSecure: (socket: tls.TLSSocket, ssl: SslConnectionInfo) => void): void;
}

/** Node's tls options for the context. */
/** require_client_certificate, or SAN matchers (which make a client certificate mandatory in Envoy). */
function clientCertificateRequired(cfg: DownstreamTlsContextConfig): boolean {
  return cfg.requireClientCertificate || cfg.subjectAltNameMatchers.length > 0;
}

export function tlsServerOptions(cfg: DownstreamTlsContextConfig): tls.TlsOptions {
  const required = clientCertificateRequired(cfg);
  const options: tls.TlsOptions = {
    cert: cfg.certificates.map((c) => c.certificateChain),
    key: cfg.certificates.map((c) => ({ pem: c.privateKey, ...(c.password !== undefined ? { passphrase: c.password } : {}) })),
    minVersion: cfg.minProtocolVersion,
    maxVersion: cfg.maxProtocolVersion,
    ciphers: `${TLS13_SUITES}:${cfg.cipherSuites}`,
    ecdhCurve: cfg.ecdhCurves,
    requestCert: cfg.trustedCa !== undefined || required,
    // With a CA, OpenSSL refuses a missing certificate inside the handshake; Node refuses a
    // bad one right after it. Without a CA any certificate is accepted (Envoy validates none).
    rejectUnauthorized: cfg.trustedCa !== undefined && required,
  };
  if (cfg.trustedCa !== undefined) options.ca = cfg.trustedCa;
  if (cfg.alpnProtocols.length > 0) options.ALPNProtocols = cfg.alpnProtocols;
  if (cfg.signatureAlgorithms !== undefined) options.sigalgs = cfg.signatureAlgorithms;
  return options;
}

/** The 4-tuple: the TLS socket Node creates for a raw socket reports the same addresses. */
function connectionKey(s: net.Socket): string {
  return `${s.remoteAddress}|${s.remotePort}|${s.localAddress}|${s.localPort}`;
}

export function createDownstreamTls(cfg: DownstreamTlsContextConfig, stats: StatsStore, listenerStatAddress: string): DownstreamTls {
  const prefix = `listener.${listenerStatAddress}.ssl.`;
  const s = Object.fromEntries(SSL_COUNTERS.map((n) => [n, stats.counter(prefix + n)])) as SslStats;
  const server = tls.createServer(tlsServerOptions(cfg));
  const required = clientCertificateRequired(cfg);
  const sanMatches = cfg.subjectAltNameMatchers.length > 0 ? compileSanMatchers(cfg.subjectAltNameMatchers) : undefined;
  const pending = new Map<string, (socket: tls.TLSSocket, ssl: SslConnectionInfo) => void>();

  server.on("secureConnection", (socket: tls.TLSSocket) => {
    const key = connectionKey(socket);
    const onSecure = pending.get(key);
    pending.delete(key);
    const peer = socket.getPeerX509Certificate();
    if (peer && cfg.trustedCa !== undefined && !socket.authorized) {
      s.fail_verify_error.inc();
      socket.destroy();
      return;
    }
    if (!peer && required) {
      s.fail_verify_no_cert.inc();
      socket.destroy();
      return;
    }
    const ssl = SslConnectionInfo.fromSocket(socket);
    if (peer && sanMatches && !sanMatches(ssl.peerFields())) {
      s.fail_verify_san.inc();
      socket.destroy();
      return;
    }
    s.handshake.inc();
    if (socket.isSessionReused()) s.session_reused.inc();
    if (!peer) s.no_certificate.inc();
    if (ssl.tlsVersion) stats.counter(`${prefix}versions.${ssl.tlsVersion}`).inc();
    if (ssl.cipher) stats.counter(`${prefix}ciphers.${ssl.cipher}`).inc();
    if (onSecure) onSecure(socket, ssl);
    else socket.destroy();
  });

  server.on("tlsClientError", (err: NodeJS.ErrnoException, socket: tls.TLSSocket) => {
    pending.delete(connectionKey(socket));
    if (err.code === "ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE") s.fail_verify_no_cert.inc();
    else if (socket.authorizationError) s.fail_verify_error.inc();
    // A peer that just goes away leaves no TLS error behind: Envoy counts nothing then.
    else if (err.code !== "ECONNRESET") s.connection_error.inc();
  });

  return {
    accept(raw, onSecure) {
      const key = connectionKey(raw);
      pending.set(key, onSecure);
      raw.once("close", () => {
        if (pending.get(key) === onSecure) pending.delete(key);
      });
      server.emit("connection", raw);
    },
  };
}
