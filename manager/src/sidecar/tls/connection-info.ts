/**
 * What a downstream TLS connection tells filters: Envoy's Ssl::ConnectionInfo
 * (envoy/ssl/connection.h) as its CEL / Wasm attributes read it
 * (source/extensions/filters/common/expr/context.cc):
 * - peerCertificatePresented (connection.mtls), tlsVersion (SSL_get_version: "TLSv1.3"),
 *   requestedServerName (SNI, "" without);
 * - subject of the peer / local certificate in RFC 2253 form ("" without a certificate);
 * - the URI and DNS SANs in certificate order (the attributes take the first);
 * - sha256PeerCertificateDigest: lower-case hex SHA-256 of the peer certificate's DER
 *   ("" without one).
 * The certificates are captured at the handshake and parsed on first use.
 */
import { createHash } from "node:crypto";
import type { TLSSocket } from "node:tls";
import { certificateFields, type CertificateFields } from "./x509-fields.ts";
import { formatRfc2253 } from "./rfc2253.ts";

const NONE: CertificateFields = { subject: { der: new Uint8Array(), entries: [] }, uriSans: [], dnsSans: [], emailSans: [], ipSans: [] };

export class SslConnectionInfo {
  private peer?: CertificateFields;
  private local?: CertificateFields;
  private peerSubject?: string;
  private localSubject?: string;
  private digest?: string;

  constructor(
    /** SSL_get_version, e.g. "TLSv1.3". */
    readonly tlsVersion: string,
    /** The SNI the client sent, "" when none. */
    readonly requestedServerName: string,
    /** The negotiated ALPN protocol, "" when none. */
    readonly alpn: string,
    /** The cipher's OpenSSL name (SSL_CIPHER_get_name), e.g. "TLS_AES_256_GCM_SHA384". */
    readonly cipher: string,
    private readonly peerDer?: Uint8Array,
    private readonly localDer?: Uint8Array,
  ) {}

  /** Reads the facts of a TLS socket whose handshake has completed. */
  static fromSocket(socket: TLSSocket): SslConnectionInfo {
    const sni = (socket as TLSSocket & { servername?: string | false }).servername;
    const alpn = socket.alpnProtocol;
    return new SslConnectionInfo(
      socket.getProtocol() ?? "",
      typeof sni === "string" ? sni : "",
      typeof alpn === "string" ? alpn : "",
      socket.getCipher()?.name ?? "",
      socket.getPeerX509Certificate()?.raw,
      socket.getX509Certificate()?.raw,
    );
  }

  get peerCertificatePresented(): boolean {
    return this.peerDer !== undefined && this.peerDer.length > 0;
  }

  /** The peer certificate's subject and SANs (empty without a certificate). */
  peerFields(): CertificateFields {
    return (this.peer ??= this.peerDer ? certificateFields(this.peerDer) : NONE);
  }

  private localFields(): CertificateFields {
    return (this.local ??= this.localDer ? certificateFields(this.localDer) : NONE);
  }

  get subjectPeerCertificate(): string {
    return (this.peerSubject ??= formatRfc2253(this.peerFields().subject));
  }

  get subjectLocalCertificate(): string {
    return (this.localSubject ??= formatRfc2253(this.localFields().subject));
  }

  get uriSanPeerCertificate(): readonly string[] {
    return this.peerFields().uriSans;
  }

  get dnsSanPeerCertificate(): readonly string[] {
    return this.peerFields().dnsSans;
  }

  get uriSanLocalCertificate(): readonly string[] {
    return this.localFields().uriSans;
  }

  get dnsSanLocalCertificate(): readonly string[] {
    return this.localFields().dnsSans;
  }

  get sha256PeerCertificateDigest(): string {
    if (this.digest === undefined) {
      this.digest = this.peerDer ? createHash("sha256").update(this.peerDer).digest("hex") : "";
    }
    return this.digest;
  }
}
