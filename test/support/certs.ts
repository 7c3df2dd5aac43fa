/**
 * Test PKI: a private CA and the certificates it issues, made in the test process (RSA keys
 * from node:crypto, X.509 v3 certificates built and signed with node-forge), so TLS and mTLS
 * tests need no files and no network. Certificates carry what a mesh uses: SPIFFE URI SANs
 * (`spiffe://<trust domain>/ns/<ns>/sa/<sa>`), DNS SANs, a subject with any attributes,
 * serverAuth / clientAuth extended key usage, and a validity window that tests can place in
 * the past (expired) or the future.
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import forge from "node-forge";

export interface SubjectAttribute {
  /** OpenSSL short name, e.g. "CN", "O", "OU", "C", "L", "ST". */
  shortName: string;
  value: string;
}

export interface IssueOptions {
  /** Subject attributes in DER order (first = most general); default [{CN: commonName}]. */
  subject?: SubjectAttribute[];
  commonName?: string;
  uris?: string[];
  dnsNames?: string[];
  /** Extended key usage; default both serverAuth and clientAuth. */
  serverAuth?: boolean;
  clientAuth?: boolean;
  notBefore?: Date;
  notAfter?: Date;
}

export interface TestCertificate {
  certPem: string;
  keyPem: string;
}

export interface TestCa extends TestCertificate {
  name: string;
  issue(opts: IssueOptions): TestCertificate;
}

const HOUR = 3_600_000;

function newKeyPair(): { keyPem: string; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return {
    keyPem: privateKey.export({ type: "pkcs1", format: "pem" }) as string,
    publicPem: publicKey.export({ type: "spki", format: "pem" }) as string,
  };
}

function serial(): string {
  // A positive serial number: clear the top bit.
  const b = randomBytes(16);
  b[0]! &= 0x7f;
  return b.toString("hex");
}

function build(
  publicPem: string,
  subject: SubjectAttribute[],
  issuer: SubjectAttribute[],
  signerKeyPem: string,
  extensions: unknown[],
  notBefore: Date,
  notAfter: Date,
): string {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicPem);
  cert.serialNumber = serial();
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter = notAfter;
  cert.setSubject(subject);
  cert.setIssuer(issuer);
  cert.setExtensions(extensions as object[]);
  cert.sign(forge.pki.privateKeyFromPem(signerKeyPem), forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}

/** A self-signed CA (basicConstraints CA, keyCertSign) that issues leaf certificates. */
export function createTestCa(name = "meshwasm test CA"): TestCa {
  const { keyPem, publicPem } = newKeyPair();
  const caSubject = [{ shortName: "O", value: "meshwasm tests" }, { shortName: "CN", value: name }];
  const now = Date.now();
  const certPem = build(
    publicPem,
    caSubject,
    caSubject,
    keyPem,
    [
      { name: "basicConstraints", cA: true, critical: true },
      { name: "keyUsage", keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
      { name: "subjectKeyIdentifier" },
    ],
    new Date(now - HOUR),
    new Date(now + 24 * HOUR),
  );
  return {
    name,
    certPem,
    keyPem,
    issue(opts: IssueOptions): TestCertificate {
      const leaf = newKeyPair();
      const subject = opts.subject ?? [{ shortName: "CN", value: opts.commonName ?? "leaf" }];
      const altNames = [
        ...(opts.uris ?? []).map((value) => ({ type: 6, value })),
        ...(opts.dnsNames ?? []).map((value) => ({ type: 2, value })),
      ];
      const extensions: unknown[] = [
        { name: "basicConstraints", cA: false },
        { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
        { name: "extKeyUsage", serverAuth: opts.serverAuth ?? true, clientAuth: opts.clientAuth ?? true },
      ];
      if (altNames.length > 0) extensions.push({ name: "subjectAltName", altNames });
      const t = Date.now();
      return {
        keyPem: leaf.keyPem,
        certPem: build(
          leaf.publicPem,
          subject,
          caSubject,
          keyPem,
          extensions,
          opts.notBefore ?? new Date(t - HOUR),
          opts.notAfter ?? new Date(t + 12 * HOUR),
        ),
      };
    },
  };
}

/** The SPIFFE id Istio gives a workload: spiffe://<trustDomain>/ns/<namespace>/sa/<serviceAccount>. */
export function spiffeId(namespace: string, serviceAccount: string, trustDomain = "cluster.local"): string {
  return `spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
}
