/**
 * A self-signed X.509 v1 certificate for an EC P-256 key, DER-encoded by hand (RFC 5280 §4.1,
 * ITU-T X.690 DER; signature ecdsa-with-SHA256, RFC 5758 §3.2), so the test token server can
 * give the registry a `rootcertbundle` without openssl or a certificate library. Test use only.
 */
import { generateKeyPairSync, randomBytes, sign, type KeyObject } from "node:crypto";

function len(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  if (n < 0x100) return Buffer.from([0x81, n]);
  return Buffer.from([0x82, n >> 8, n & 0xff]);
}

function tlv(tag: number, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag]), len(body.length), body]);
}

const seq = (...p: Buffer[]) => tlv(0x30, ...p);
const ECDSA_WITH_SHA256 = Buffer.from([0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02]);
const COMMON_NAME = Buffer.from([0x06, 0x03, 0x55, 0x04, 0x03]);

function utcTime(d: Date): Buffer {
  const p = (n: number) => String(n).padStart(2, "0");
  const s = `${p(d.getUTCFullYear() % 100)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  return tlv(0x17, Buffer.from(s, "ascii"));
}

function name(cn: string): Buffer {
  return seq(tlv(0x31, seq(COMMON_NAME, tlv(0x0c, Buffer.from(cn, "utf8")))));
}

export interface SelfSignedCert {
  privateKey: KeyObject;
  publicKey: KeyObject;
  der: Buffer;
  pem: string;
}

export function selfSignedCert(commonName: string, validDays = 7): SelfSignedCert {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const serial = randomBytes(8);
  serial[0] = serial[0]! & 0x7f; // positive INTEGER
  const now = Date.now();
  const tbs = seq(
    tlv(0x02, serial),
    seq(ECDSA_WITH_SHA256),
    name(commonName),
    seq(utcTime(new Date(now - 3600_000)), utcTime(new Date(now + validDays * 86400_000))),
    name(commonName),
    publicKey.export({ type: "spki", format: "der" }),
  );
  const signature = sign("sha256", tbs, privateKey);
  const der = seq(tbs, seq(ECDSA_WITH_SHA256), tlv(0x03, Buffer.from([0]), signature));
  const b64 = der.toString("base64").replace(/.{64}/g, "$&\n");
  const pem = `-----BEGIN CERTIFICATE-----\n${b64}${b64.endsWith("\n") ? "" : "\n"}-----END CERTIFICATE-----\n`;
  return { privateKey, publicKey, der, pem };
}
