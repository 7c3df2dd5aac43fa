/**
 * PBKDF2-HMAC-SHA256 (RFC 8018 §5.2) for one 32-byte block (dkLen = hLen, so only T_1):
 *   U_1 = HMAC(P, S || INT(1)), U_j = HMAC(P, U_{j-1}), DK = U_1 ^ ... ^ U_c
 * on the SDK's HMAC with the password prepared once as a key, so each iteration costs two
 * SHA-256 compressions. Checked against Node's crypto.pbkdf2Sync in the tests.
 *
 * Contract: never traps; a bad range yields false.
 */
import { HmacSha256, HmacSha256Key } from "../../sdk/crypto/index";

// @ts-ignore: decorator
@lazy const mac = new HmacSha256(HmacSha256Key.from(new ArrayBuffer(0)));
// @ts-ignore: decorator
@lazy const U = new ArrayBuffer(32);
// @ts-ignore: decorator
@lazy const ONE = new ArrayBuffer(4);

/** DK = PBKDF2-HMAC-SHA256(password[offset, +length), salt, iterations, 32) into out (32 bytes). */
export function pbkdf2Sha256(password: ArrayBuffer, offset: i32, length: i32, salt: ArrayBuffer, iterations: i32,
                             out: ArrayBuffer): bool {
  if (out.byteLength < 32 || iterations < 1) return false;
  const key = HmacSha256Key.fromBytes(password, offset, length);
  if (key === null) return false;
  store<u32>(changetype<usize>(ONE), 0x01000000); // INT(1), big-endian
  mac.reset(key);
  mac.update(salt, 0, salt.byteLength);
  mac.update(ONE, 0, 4);
  mac.finishInto(U, 0);
  memory.copy(changetype<usize>(out), changetype<usize>(U), 32);
  for (let j = 1; j < iterations; j++) {
    mac.reset(key);
    mac.update(U, 0, 32);
    mac.finishInto(U, 0);
    const o = changetype<usize>(out);
    const u = changetype<usize>(U);
    for (let k: usize = 0; k < 32; k += 8) store<u64>(o + k, load<u64>(o + k) ^ load<u64>(u + k));
  }
  return true;
}
