/**
 * Cryptography for filters, in AssemblyScript (see README.md for algorithms, speed and size):
 * SHA-256, SHA-512, HMAC-SHA256, SipHash-2-4, base64 / base64url, constant-time comparison,
 * keyed cache digests and Ed25519 verification. Every function takes explicit (ArrayBuffer,
 * offset, length) ranges, checks them, and never traps on any input.
 */
export * from "./sha256";
export * from "./sha512";
export * from "./hmac";
export * from "./base64";
export * from "./ct";
export * from "./siphash";
export * from "./keyed-digest";
export { fillRandom } from "./random";
export { Ed25519PublicKey, ed25519Verify, ED25519_PUBLIC_KEY_LENGTH, ED25519_SIGNATURE_LENGTH } from "./ed25519/verify";
