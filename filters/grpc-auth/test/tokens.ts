/**
 * JWTs for grpc-auth tests, signed with Node's crypto (HS256: HMAC-SHA256, EdDSA: Ed25519), and
 * the matching JWKs; plus raw token surgery for the attack cases (any header, payload or
 * signature bytes, alg none, tampering).
 */
import { createHmac, createPrivateKey, generateKeyPairSync, sign, type KeyObject } from "node:crypto";

export const b64u = (b: Uint8Array | string) => Buffer.from(b).toString("base64url");

export interface EdKeyPair {
  privateKey: KeyObject;
  /** The 32-byte public key, base64url (a JWK's x). */
  x: string;
}

export function edKeyPair(): EdKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  return { privateKey, x: (publicKey.export({ format: "jwk" }) as { x: string }).x };
}

/** A fixed Ed25519 key (deterministic tests): the private JWK's d and x. */
export function edKeyFromJwk(d: string, x: string): EdKeyPair {
  return { privateKey: createPrivateKey({ key: { kty: "OKP", crv: "Ed25519", d, x }, format: "jwk" }), x };
}

export function signingInput(header: Record<string, unknown>, payload: Record<string, unknown>): string {
  return `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(payload))}`;
}

export function hs256(secret: Uint8Array, payload: Record<string, unknown>, header: Record<string, unknown> = {}): string {
  const input = signingInput({ alg: "HS256", typ: "JWT", ...header }, payload);
  return `${input}.${b64u(createHmac("sha256", secret).update(input).digest())}`;
}

export function eddsa(key: EdKeyPair, payload: Record<string, unknown>, header: Record<string, unknown> = {}): string {
  const input = signingInput({ alg: "EdDSA", typ: "JWT", ...header }, payload);
  return `${input}.${b64u(sign(null, Buffer.from(input), key.privateKey))}`;
}

/** A token with exactly these parts (already encoded), for malformed-token cases. */
export function rawToken(header: string, payload: string, signature: string): string {
  return `${header}.${payload}.${signature}`;
}

/** Flips one bit of the decoded signature. */
export function tamperSignature(token: string): string {
  const [h, p, s] = token.split(".") as [string, string, string];
  const sig = Buffer.from(s, "base64url");
  sig[0]! ^= 1;
  return `${h}.${p}.${b64u(sig)}`;
}

/** Replaces the payload, keeping the original signature. */
export function tamperPayload(token: string, payload: Record<string, unknown>): string {
  const [h, , s] = token.split(".") as [string, string, string];
  return `${h}.${b64u(JSON.stringify(payload))}.${s}`;
}
