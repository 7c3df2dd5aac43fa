/**
 * API keys and per-RPC username / password (README.md, "Credentials").
 *
 * API key: the header must occur once; its value (at most 1,024 bytes) is hashed with SHA-256 and
 * looked up by its first four bytes, the full 32 bytes compared in constant time. A key that is
 * present but matches nothing (or occurs twice, or is too long) is invalid. The last valid key's
 * bytes are kept (per VM, in one fixed buffer): the same key again is recognised by a
 * constant-time compare of its bytes instead of a SHA-256.
 *
 * Username / password: both headers once each (a lone one, or a repeated one, is invalid);
 * username at most 256 bytes, password at most 1,024. The user's stored PBKDF2-HMAC-SHA256 hash
 * is recomputed from the password (kdf.ts) and compared in constant time. Results are cached by
 * a keyed digest of "username NUL password" (HMAC-SHA256 under a per-VM random key, SDK
 * keyed-digest.ts), so a credential costs the KDF once per VM, then one HMAC. The cache is a
 * bounded direct-mapped table; a failure never evicts a success. Without randomness from the
 * host there is no key, and no caching.
 */
import { constantTimeEqualsUnchecked, keyedDigestInto, sha256Into } from "../../sdk/crypto/index";
import { ApiKeyStore, UserStore } from "./model";
import { RequestHeaders } from "./headers";
import { pbkdf2Sha256 } from "./kdf";
import { incrementMetric } from "../../sdk/hostcalls";

export const ABSENT: i32 = 0;
export const VALID: i32 = 1;
export const INVALID: i32 = 2;

export const MAX_API_KEY_BYTES: i32 = 1024;
export const MAX_USERNAME_BYTES: i32 = 256;
export const MAX_PASSWORD_BYTES: i32 = 1024;

// @ts-ignore: decorator
@lazy const DIGEST = new ArrayBuffer(32);

/** A credential check's outcome: state and, when valid, the key / user index. */
export class Checked {
  state: i32 = ABSENT;
  index: i32 = -1;
  set(state: i32, index: i32): void { this.state = state; this.index = index; }
}

export function checkApiKey(store: ApiKeyStore, h: RequestHeaders, out: Checked): void {
  const i = store.headerIndex;
  const count = h.count(i);
  if (count == 0) { out.set(ABSENT, -1); return; }
  const len = h.length(i);
  if (count > 1 || len == 0 || len > MAX_API_KEY_BYTES) { out.set(INVALID, -1); return; }
  const last = store.lastKey;
  if (store.lastIndex >= 0 && constantTimeEqualsUnchecked(changetype<usize>(last), <usize>store.lastLength, h.ptr(i), <usize>len)) {
    out.set(VALID, store.lastIndex);
    return;
  }
  sha256Into(h.value(i), 0, len, DIGEST, 0);
  const slots = store.slots;
  const mask = slots.length - 1;
  const d = changetype<usize>(DIGEST);
  let s = <i32>(load<u32>(d) & <u32>mask);
  const hashes = changetype<usize>(store.hashes);
  while (true) {
    const k = unchecked(slots[s]);
    if (k < 0) break;
    if (constantTimeEqualsUnchecked(hashes + <usize>k * 32, 32, d, 32)) {
      memory.copy(changetype<usize>(last), h.ptr(i), <usize>len);
      store.lastLength = len;
      store.lastIndex = k;
      out.set(VALID, k);
      return;
    }
    s = (s + 1) & mask;
  }
  out.set(INVALID, -1);
}

export class PasswordChecker {
  /** Per slot: the 32-byte keyed digest, and the user (-1: failed, -2: empty). */
  private readonly digests: StaticArray<u8>;
  private readonly users: StaticArray<i32>;
  private readonly scratch: ArrayBuffer = new ArrayBuffer(MAX_USERNAME_BYTES + 1 + MAX_PASSWORD_BYTES);
  private readonly derived: ArrayBuffer = new ArrayBuffer(32);
  /** Counter incremented per KDF run (0: none). */
  derivations: u32 = 0;

  constructor(private readonly store: UserStore) {
    let n = 0;
    if (store.cacheSize > 0) { n = 1; while (n < store.cacheSize) n <<= 1; }
    this.digests = new StaticArray<u8>(n * 32);
    this.users = new StaticArray<i32>(n);
    for (let i = 0; i < n; i++) unchecked(this.users[i] = -2);
  }

  check(h: RequestHeaders, out: Checked): void {
    const ui = this.store.usernameIndex;
    const pi = this.store.passwordIndex;
    const uc = h.count(ui);
    const pc = h.count(pi);
    if (uc == 0 && pc == 0) { out.set(ABSENT, -1); return; }
    const ul = h.length(ui);
    const pl = h.length(pi);
    if (uc != 1 || pc != 1 || ul == 0 || pl == 0 || ul > MAX_USERNAME_BYTES || pl > MAX_PASSWORD_BYTES) {
      out.set(INVALID, -1);
      return;
    }
    // "username NUL password" in the scratch buffer: the cache identity.
    const s = changetype<usize>(this.scratch);
    memory.copy(s, h.ptr(ui), <usize>ul);
    store<u8>(s + <usize>ul, 0);
    memory.copy(s + <usize>ul + 1, h.ptr(pi), <usize>pl);
    const total = ul + 1 + pl;
    const n = this.users.length;
    let slot = -1;
    if (n > 0 && keyedDigestInto(this.scratch, 0, total, DIGEST, 0)) {
      slot = <i32>(load<u32>(changetype<usize>(DIGEST)) & <u32>(n - 1));
      const cached = unchecked(this.users[slot]);
      if (cached > -2 && constantTimeEqualsUnchecked(changetype<usize>(this.digests) + <usize>slot * 32, 32, changetype<usize>(DIGEST), 32)) {
        out.set(cached < 0 ? INVALID : VALID, cached);
        return;
      }
    }
    const user = this.verify(ul, pl);
    out.set(user < 0 ? INVALID : VALID, user);
    // A failure never evicts a success.
    if (slot >= 0 && (user >= 0 || unchecked(this.users[slot]) < 0)) {
      memory.copy(changetype<usize>(this.digests) + <usize>slot * 32, changetype<usize>(DIGEST), 32);
      unchecked(this.users[slot] = user);
    }
    memory.fill(s, 0, <usize>total);
  }

  /** The user index when scratch holds a known user and the right password; else -1. */
  private verify(ul: i32, pl: i32): i32 {
    const name = String.UTF8.decodeUnsafe(changetype<usize>(this.scratch), <usize>ul);
    if (!this.store.names.has(name)) return -1;
    const user = this.store.names.get(name);
    if (this.derivations != 0) incrementMetric(this.derivations, 1);
    const ok = pbkdf2Sha256(this.scratch, ul + 1, pl, this.store.salts[user], this.store.iterations[user], this.derived);
    const expected = this.store.hashes[user];
    if (!ok || expected.byteLength != 32) return -1;
    return constantTimeEqualsUnchecked(changetype<usize>(this.derived), 32, changetype<usize>(expected), 32) ? user : -1;
  }
}
