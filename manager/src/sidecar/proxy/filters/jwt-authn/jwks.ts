/**
 * JSON Web Key Sets and signature verification as Envoy's jwt_verify does them
 * (source/common/jwt/jwks.cc, verify.cc), on node:crypto (OpenSSL):
 * - a JWKS is a JSON object with a `keys` array; entries that are not objects are skipped;
 *   a key that fails its checks is skipped; with no usable key the set's status is the first
 *   failure, or "Jwks doesn't have any valid public key";
 * - RSA: `alg` (if given) starts with RS or PS, `n` and `e` base64url strings, e = 3 or 65537;
 *   EC: `alg` starts with ES, `crv` P-256/P-384/P-521 consistent with `alg` (P-256 when neither
 *   is given), `x` and `y` on the curve; oct: `alg` HS256/384/512 if given, `k` non-empty;
 *   OKP: `alg` EdDSA if given, `crv` Ed25519, `x` of 32 bytes;
 * - verification tries every key whose `kid` (when both sides have one) and `alg` (when the key
 *   has one) match the JWT's, by key type: EC as ECDSA with the hash of ES384 / ES512 (SHA-256
 *   otherwise) and an r||s signature, RSA as PKCS#1 v1.5 (RS*) or PSS with a digest-long salt
 *   (PS*), oct as HMAC, OKP as Ed25519 (a signature that is not 64 bytes fails at once). The
 *   first key that verifies wins; none matching kid/alg is JwksKidAlgMismatch, else
 *   JwtVerificationFail.
 * Never throws on any input.
 */
import { createHmac, createPublicKey, timingSafeEqual, verify as cryptoVerify, constants, type KeyObject } from "node:crypto";
import { base64urlDecode, type Jwt } from "./jwt.ts";
import { Status } from "./status.ts";

export interface Jwk {
  kty: string;
  kid: string;
  alg: string;
  crv: string;
  publicKey?: KeyObject;
  hmacKey?: Uint8Array;
}

export interface Jwks {
  status: Status;
  keys: Jwk[];
}

type JsonObject = Record<string, unknown>;

function stringField(o: JsonObject, name: string): { v?: string; wrong: boolean } {
  if (!Object.hasOwn(o, name)) return { wrong: false };
  const v = o[name];
  return typeof v === "string" ? { v, wrong: false } : { wrong: true };
}

function importJwk(jwk: Record<string, string>): KeyObject | undefined {
  try {
    return createPublicKey({ key: jwk, format: "jwk" });
  } catch {
    return undefined;
  }
}

/** The value of a base64url big number, without leading zeros (BN_bin2bn then BN_bn2bin). */
function bigNumber(s: string): Uint8Array | undefined {
  const b = base64urlDecode(s);
  if (!b) return undefined;
  let i = 0;
  while (i < b.length && b[i] === 0) i++;
  return b.subarray(i);
}

function rsaKey(o: JsonObject, jwk: Jwk): Status {
  if (jwk.alg && !(jwk.alg.startsWith("RS") || jwk.alg.startsWith("PS"))) return Status.JwksRSAKeyBadAlg;
  const n = stringField(o, "n");
  if (n.wrong) return Status.JwksRSAKeyBadN;
  if (n.v === undefined) return Status.JwksRSAKeyMissingN;
  const e = stringField(o, "e");
  if (e.wrong) return Status.JwksRSAKeyBadE;
  if (e.v === undefined) return Status.JwksRSAKeyMissingE;
  const nb = bigNumber(n.v);
  const eb = bigNumber(e.v);
  if (!nb || !eb || nb.length === 0) return Status.JwksRsaParseError;
  const ev = eb.length <= 4 ? eb.reduce((a, x) => a * 256 + x, 0) : -1;
  if (ev !== 3 && ev !== 65537) return Status.JwksRsaParseError;
  const key = importJwk({ kty: "RSA", n: Buffer.from(nb).toString("base64url"), e: Buffer.from(eb).toString("base64url") });
  if (!key) return Status.JwksRsaParseError;
  jwk.publicKey = key;
  return Status.Ok;
}

const EC_CURVES: Record<string, string> = { ES256: "P-256", ES384: "P-384", ES512: "P-521" };
const EC_SIZES: Record<string, number> = { "P-256": 32, "P-384": 48, "P-521": 66 };

function ecKey(o: JsonObject, jwk: Jwk): Status {
  if (jwk.alg && !jwk.alg.startsWith("ES")) return Status.JwksECKeyBadAlg;
  const crv = stringField(o, "crv");
  if (crv.wrong) return Status.JwksECKeyBadCrv;
  jwk.crv = crv.v ?? "";
  if (jwk.alg && jwk.crv && EC_CURVES[jwk.alg] !== jwk.crv) return Status.JwksECKeyAlgNotCompatibleWithCrv;
  if (!jwk.alg && !jwk.crv) jwk.crv = "P-256";
  const curve = EC_CURVES[jwk.alg] ?? (EC_SIZES[jwk.crv] !== undefined ? jwk.crv : undefined);
  if (!curve) return Status.JwksECKeyAlgOrCrvUnsupported;
  jwk.crv = curve;
  const x = stringField(o, "x");
  if (x.wrong) return Status.JwksECKeyBadX;
  if (x.v === undefined) return Status.JwksECKeyMissingX;
  const y = stringField(o, "y");
  if (y.wrong) return Status.JwksECKeyBadY;
  if (y.v === undefined) return Status.JwksECKeyMissingY;
  const xb = bigNumber(x.v);
  const yb = bigNumber(y.v);
  if (!xb || !yb) return Status.JwksEcXorYBadBase64;
  const size = EC_SIZES[curve]!;
  if (xb.length > size || yb.length > size) return Status.JwksEcParseError;
  const pad = (b: Uint8Array) => Buffer.concat([Buffer.alloc(size - b.length), b]).toString("base64url");
  const key = importJwk({ kty: "EC", crv: curve, x: pad(xb), y: pad(yb) });
  if (!key) return Status.JwksEcParseError;
  jwk.publicKey = key;
  return Status.Ok;
}

function octKey(o: JsonObject, jwk: Jwk): Status {
  if (jwk.alg && jwk.alg !== "HS256" && jwk.alg !== "HS384" && jwk.alg !== "HS512") return Status.JwksHMACKeyBadAlg;
  const k = stringField(o, "k");
  if (k.wrong) return Status.JwksHMACKeyBadK;
  if (k.v === undefined) return Status.JwksHMACKeyMissingK;
  const key = base64urlDecode(k.v);
  if (!key || key.length === 0) return Status.JwksOctBadBase64;
  jwk.hmacKey = key;
  return Status.Ok;
}

function okpKey(o: JsonObject, jwk: Jwk): Status {
  if (jwk.alg && jwk.alg !== "EdDSA") return Status.JwksOKPKeyBadAlg;
  const crv = stringField(o, "crv");
  if (crv.wrong) return Status.JwksOKPKeyBadCrv;
  if (crv.v === undefined) return Status.JwksOKPKeyMissingCrv;
  jwk.crv = crv.v;
  if (jwk.crv !== "Ed25519") return Status.JwksOKPKeyCrvUnsupported;
  const x = stringField(o, "x");
  if (x.wrong) return Status.JwksOKPKeyBadX;
  if (x.v === undefined) return Status.JwksOKPKeyMissingX;
  const raw = base64urlDecode(x.v);
  if (!raw) return Status.JwksOKPXBadBase64;
  if (raw.length !== 32) return Status.JwksOKPXWrongLength;
  const key = importJwk({ kty: "OKP", crv: "Ed25519", x: Buffer.from(raw).toString("base64url") });
  if (!key) return Status.JwksOKPXBadBase64;
  jwk.publicKey = key;
  return Status.Ok;
}

function extractJwk(o: JsonObject): Jwk | Status {
  const kty = stringField(o, "kty");
  if (kty.wrong) return Status.JwksBadKty;
  if (kty.v === undefined) return Status.JwksMissingKty;
  const jwk: Jwk = { kty: kty.v, kid: stringField(o, "kid").v ?? "", alg: stringField(o, "alg").v ?? "", crv: "" };
  let status: Status;
  if (jwk.kty === "EC") status = ecKey(o, jwk);
  else if (jwk.kty === "RSA") status = rsaKey(o, jwk);
  else if (jwk.kty === "oct") status = octKey(o, jwk);
  else if (jwk.kty === "OKP") status = okpKey(o, jwk);
  else status = Status.JwksNotImplementedKty;
  return status === Status.Ok ? jwk : status;
}

export function parseJwks(text: string): Jwks {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return { status: Status.JwksParseError, keys: [] };
  }
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) return { status: Status.JwksParseError, keys: [] };
  const o = doc as JsonObject;
  if (!Object.hasOwn(o, "keys")) return { status: Status.JwksNoKeys, keys: [] };
  if (!Array.isArray(o.keys)) return { status: Status.JwksBadKeys, keys: [] };
  const keys: Jwk[] = [];
  let firstError: Status | undefined;
  for (const k of o.keys as unknown[]) {
    if (k === null || typeof k !== "object" || Array.isArray(k)) continue;
    const r = extractJwk(k as JsonObject);
    if (typeof r === "number") firstError ??= r;
    else keys.push(r);
  }
  if (keys.length > 0) return { status: Status.Ok, keys };
  return { status: firstError ?? Status.JwksNoValidKeys, keys };
}

/** The RSA digest: SHA-384 for RS384 / PS384, SHA-512 for RS512 / PS512, else SHA-256. */
function digestOf(alg: string): string {
  if (alg === "RS384" || alg === "PS384") return "sha384";
  if (alg === "RS512" || alg === "PS512") return "sha512";
  return "sha256";
}

function safeVerify(fn: () => boolean): boolean {
  try {
    return fn();
  } catch {
    return false;
  }
}

/** verifyJwtWithoutTimeChecking. */
export function verifyJwtSignature(jwt: Jwt, jwks: Jwks): Status {
  const data = Buffer.from(`${jwt.headerBase64url}.${jwt.payloadBase64url}`, "latin1");
  const sig = jwt.signature;
  let matched = false;
  for (const jwk of jwks.keys) {
    if (jwt.kid && jwk.kid && jwk.kid !== jwt.kid) continue;
    if (jwk.alg && jwk.alg !== jwt.alg) continue;
    matched = true;
    if (jwk.kty === "EC") {
      const md = jwt.alg === "ES384" ? "sha384" : jwt.alg === "ES512" ? "sha512" : "sha256";
      if (sig.length === 2 * EC_SIZES[jwk.crv]! && safeVerify(() => cryptoVerify(md, data, { key: jwk.publicKey!, dsaEncoding: "ieee-p1363" }, sig))) {
        return Status.Ok;
      }
    } else if (jwk.kty === "RSA") {
      const md = digestOf(jwt.alg);
      if (jwt.alg.startsWith("RS") && safeVerify(() => cryptoVerify(md, data, jwk.publicKey!, sig))) return Status.Ok;
      if (
        jwt.alg.startsWith("PS") &&
        safeVerify(() =>
          cryptoVerify(md, data, { key: jwk.publicKey!, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }, sig),
        )
      ) {
        return Status.Ok;
      }
    } else if (jwk.kty === "oct") {
      const md = jwt.alg === "HS384" ? "sha384" : jwt.alg === "HS512" ? "sha512" : "sha256";
      const mac = createHmac(md, jwk.hmacKey!).update(data).digest();
      if (mac.length === sig.length && timingSafeEqual(mac, sig)) return Status.Ok;
    } else if (jwk.kty === "OKP") {
      if (sig.length !== 64) return Status.JwtEd25519SignatureWrongLength;
      if (safeVerify(() => cryptoVerify(null, data, jwk.publicKey!, sig))) return Status.Ok;
    }
  }
  return matched ? Status.JwtVerificationFail : Status.JwksKidAlgMismatch;
}
