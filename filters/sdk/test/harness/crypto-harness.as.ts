/**
 * Test guest for filters/sdk/crypto: exports thin wrappers so the Node tests can drive every
 * public function with arbitrary (offset, length) ranges over one input and one output buffer
 * (`inputBuffer` / `outputBuffer` allocate them; the test writes and reads through the returned
 * pointers). Batch entry points run many packed cases per call; `*Repeat` loops are for timing.
 * Imports `env.proxy_log` (abort handler) and `wasi_snapshot_preview1.random_get` (keyed digest).
 */
import "../../abi/abort";
import {
  Sha256, sha256Into, Sha512, sha512Into, HmacSha256, HmacSha256Key, hmacSha256Into,
  base64UrlDecodeInto, base64DecodeInto, base64UrlEncodeInto, base64EncodeInto, base64UrlDecodeString,
  base64DecodeString, base64UrlEncode, base64Encode, constantTimeEquals, keyedDigestInto, keyedHash64, sipHash24,
  keyedDigestAvailable, Ed25519PublicKey, ed25519Verify,
} from "../../crypto/index";
import { scalarReduce } from "../../crypto/ed25519/scalar";

let inBuf = new ArrayBuffer(0);
let outBuf = new ArrayBuffer(0);

export function inputBuffer(size: i32): usize { inBuf = new ArrayBuffer(size); return changetype<usize>(inBuf); }
export function outputBuffer(size: i32): usize { outBuf = new ArrayBuffer(size); return changetype<usize>(outBuf); }

function u32At(off: i32): i32 { return <i32>load<u32>(changetype<usize>(inBuf) + <usize>off); }

// ---- SHA-256 / SHA-512 -----------------------------------------------------------------

export function sha256Range(off: i32, len: i32, outOff: i32): i32 { return sha256Into(inBuf, off, len, outBuf, outOff) ? 1 : 0; }
export function sha512Range(off: i32, len: i32, outOff: i32): i32 { return sha512Into(inBuf, off, len, outBuf, outOff) ? 1 : 0; }

/** Cases packed as [u32 len][bytes]...; digest i goes to out[i * size]. Returns cases hashed. */
export function hashBatch(count: i32, wide: i32): i32 {
  let p = 0;
  const size = wide != 0 ? 64 : 32;
  for (let i = 0; i < count; i++) {
    const len = u32At(p);
    const ok = wide != 0 ? sha512Into(inBuf, p + 4, len, outBuf, i * size) : sha256Into(inBuf, p + 4, len, outBuf, i * size);
    if (!ok) return i;
    p += 4 + len;
  }
  return count;
}

const sha256Stream = new Sha256();
const sha512Stream = new Sha512();

/** Streams data[dataOff, +dataLen) in chunks whose sizes are u32s at cutsOff; then the rest. */
export function hashChunks(wide: i32, dataOff: i32, dataLen: i32, cutsOff: i32, nCuts: i32, outOff: i32): i32 {
  let p = dataOff;
  const end = dataOff + dataLen;
  for (let i = 0; i < nCuts; i++) {
    const n = min<i32>(u32At(cutsOff + i * 4), end - p);
    const ok = wide != 0 ? sha512Stream.update(inBuf, p, n) : sha256Stream.update(inBuf, p, n);
    if (!ok) return 0;
    p += n;
  }
  const ok = wide != 0 ? sha512Stream.update(inBuf, p, end - p) : sha256Stream.update(inBuf, p, end - p);
  if (!ok) return 0;
  return (wide != 0 ? sha512Stream.finishInto(outBuf, outOff) : sha256Stream.finishInto(outBuf, outOff)) ? 1 : 0;
}

/** A streaming update with an arbitrary range (state must be untouched when it is rejected). */
export function hashUpdate(wide: i32, off: i32, len: i32): i32 {
  return (wide != 0 ? sha512Stream.update(inBuf, off, len) : sha256Stream.update(inBuf, off, len)) ? 1 : 0;
}
export function hashFinish(wide: i32, outOff: i32): i32 {
  return (wide != 0 ? sha512Stream.finishInto(outBuf, outOff) : sha256Stream.finishInto(outBuf, outOff)) ? 1 : 0;
}

export function sha256Repeat(off: i32, len: i32, times: i32): void {
  for (let i = 0; i < times; i++) sha256Into(inBuf, off, len, outBuf, 0);
}
export function sha512Repeat(off: i32, len: i32, times: i32): void {
  for (let i = 0; i < times; i++) sha512Into(inBuf, off, len, outBuf, 0);
}

// ---- HMAC-SHA256 -----------------------------------------------------------------------

export function hmacRange(keyOff: i32, keyLen: i32, off: i32, len: i32, outOff: i32): i32 {
  const key = HmacSha256Key.fromBytes(inBuf, keyOff, keyLen);
  if (key === null) return 0;
  return hmacSha256Into(key, inBuf, off, len, outBuf, outOff) ? 1 : 0;
}

/** Cases packed as [u32 keyLen][key][u32 len][message]...; MAC i goes to out[i * 32]. */
export function hmacBatch(count: i32): i32 {
  let p = 0;
  for (let i = 0; i < count; i++) {
    const keyLen = u32At(p);
    const key = HmacSha256Key.fromBytes(inBuf, p + 4, keyLen);
    if (key === null) return i;
    p += 4 + keyLen;
    const len = u32At(p);
    if (!hmacSha256Into(key, inBuf, p + 4, len, outBuf, i * 32)) return i;
    p += 4 + len;
  }
  return count;
}

/** Streaming HMAC under one prepared key, in the given chunks, twice (the key object is reused). */
export function hmacChunks(keyOff: i32, keyLen: i32, dataOff: i32, dataLen: i32, cutsOff: i32, nCuts: i32, outOff: i32): i32 {
  const key = HmacSha256Key.fromBytes(inBuf, keyOff, keyLen);
  if (key === null) return 0;
  const mac = new HmacSha256(key);
  for (let round = 0; round < 2; round++) {
    let p = dataOff;
    const end = dataOff + dataLen;
    for (let i = 0; i < nCuts; i++) {
      const n = min<i32>(u32At(cutsOff + i * 4), end - p);
      if (!mac.update(inBuf, p, n)) return 0;
      p += n;
    }
    if (!mac.update(inBuf, p, end - p)) return 0;
    if (!mac.finishInto(outBuf, outOff + round * 32)) return 0;
  }
  return 1;
}

let benchKey: HmacSha256Key | null = null;
export function hmacRepeat(keyOff: i32, keyLen: i32, off: i32, len: i32, times: i32): void {
  let key = benchKey;
  if (key === null) benchKey = key = HmacSha256Key.fromBytes(inBuf, keyOff, keyLen);
  for (let i = 0; i < times; i++) hmacSha256Into(key!, inBuf, off, len, outBuf, 0);
}

// ---- base64 / base64url ----------------------------------------------------------------

export function b64Decode(url: i32, off: i32, len: i32, outOff: i32): i32 {
  return url != 0 ? base64UrlDecodeInto(inBuf, off, len, outBuf, outOff) : base64DecodeInto(inBuf, off, len, outBuf, outOff);
}

export function b64Encode(url: i32, off: i32, len: i32, outOff: i32): i32 {
  return url != 0 ? base64UrlEncodeInto(inBuf, off, len, outBuf, outOff) : base64EncodeInto(inBuf, off, len, outBuf, outOff);
}

/** Cases packed as [u32 len][text]...; out gets [i32 result][decoded bytes] per case. Returns out bytes used. */
export function b64DecodeBatch(url: i32, count: i32): i32 {
  let p = 0, o = 0;
  for (let i = 0; i < count; i++) {
    const len = u32At(p);
    const n = b64Decode(url, p + 4, len, o + 4);
    store<i32>(changetype<usize>(outBuf) + <usize>o, n);
    o += 4 + (n > 0 ? n : 0);
    p += 4 + len;
  }
  return o;
}

/** Decodes the UTF-16 text in[off, +units*2) between code units [start, end) with the string API. */
export function b64DecodeUtf16(url: i32, off: i32, units: i32, start: i32, end: i32, outOff: i32): i32 {
  const s = String.UTF16.decodeUnsafe(changetype<usize>(inBuf) + <usize>off, <usize>units << 1);
  const r = url != 0 ? base64UrlDecodeString(s, start, end) : base64DecodeString(s, start, end);
  if (r === null) return -1;
  memory.copy(changetype<usize>(outBuf) + <usize>outOff, changetype<usize>(r), <usize>r.byteLength);
  return r.byteLength;
}

/** Encodes with the string API; writes the text (ASCII) to out[outOff..]; -1 on a bad range. */
export function b64EncodeString(url: i32, off: i32, len: i32, outOff: i32): i32 {
  const s = url != 0 ? base64UrlEncode(inBuf, off, len) : base64Encode(inBuf, off, len);
  if (s === null) return -1;
  for (let i = 0; i < s.length; i++) store<u8>(changetype<usize>(outBuf) + <usize>(outOff + i), <u8>s.charCodeAt(i));
  return s.length;
}

// ---- constant-time comparison, keyed digest ----------------------------------------------

export function ctEquals(aOff: i32, aLen: i32, bOff: i32, bLen: i32): i32 {
  return constantTimeEquals(inBuf, aOff, aLen, inBuf, bOff, bLen) ? 1 : 0;
}

export function keyedAvailable(): i32 { return keyedDigestAvailable() ? 1 : 0; }
export function keyedDigest(off: i32, len: i32, outOff: i32): i32 { return keyedDigestInto(inBuf, off, len, outBuf, outOff) ? 1 : 0; }
export function keyedBucket(off: i32, len: i32): u64 { return keyedHash64(inBuf, off, len); }
export function sipHash(keyOff: i32, off: i32, len: i32): u64 { return sipHash24(inBuf, keyOff, inBuf, off, len); }
export function keyedBucketRepeat(off: i32, len: i32, times: i32): void {
  for (let i = 0; i < times; i++) keyedHash64(inBuf, off, len);
}
export function keyedDigestRepeat(off: i32, len: i32, times: i32): void {
  for (let i = 0; i < times; i++) keyedDigestInto(inBuf, off, len, outBuf, 0);
}

// ---- Ed25519 -----------------------------------------------------------------------------

const keys: Array<Ed25519PublicKey> = [];

/** Parses a key; returns its index, or -1. */
export function edParse(off: i32, len: i32): i32 {
  const k = Ed25519PublicKey.parse(inBuf, off, len);
  if (k === null) return -1;
  keys.push(k);
  return keys.length - 1;
}
export function edKeyCanonical(index: i32): i32 { return keys[index].canonical ? 1 : 0; }
export function edForgetKeys(): void { keys.length = 0; }

export function edVerifyKey(index: i32, off: i32, len: i32, sigOff: i32, sigLen: i32): i32 {
  return keys[index].verify(inBuf, off, len, inBuf, sigOff, sigLen) ? 1 : 0;
}

export function edVerify(keyOff: i32, keyLen: i32, off: i32, len: i32, sigOff: i32, sigLen: i32): i32 {
  return ed25519Verify(inBuf, keyOff, keyLen, inBuf, off, len, inBuf, sigOff, sigLen) ? 1 : 0;
}

/**
 * Cases packed as [32 key][64 signature][u32 len][message]...; out[i] = 1 when case i verifies.
 * `parsed` != 0 parses each key into an Ed25519PublicKey first (and checks the one-shot path agrees).
 */
export function edVerifyBatch(count: i32, parsed: i32): i32 {
  let p = 0;
  for (let i = 0; i < count; i++) {
    const len = u32At(p + 96);
    let ok = ed25519Verify(inBuf, p, 32, inBuf, p + 100, len, inBuf, p + 32, 64);
    if (parsed != 0) {
      const k = Ed25519PublicKey.parse(inBuf, p, 32);
      const viaKey = k !== null && k.verify(inBuf, p + 100, len, inBuf, p + 32, 64);
      if (viaKey != ok) return -1 - i;
    }
    store<u8>(changetype<usize>(outBuf) + <usize>i, ok ? 1 : 0);
    p += 100 + len;
  }
  return count;
}

export function edVerifyRepeat(index: i32, off: i32, len: i32, sigOff: i32, times: i32): i32 {
  let n = 0;
  for (let i = 0; i < times; i++) if (keys[index].verify(inBuf, off, len, inBuf, sigOff, 64)) n++;
  return n;
}

/** 64 bytes at in[off] mod L -> out[outOff..+32] (internal, checked against BigInt). */
export function scReduce(off: i32, outOff: i32): void {
  scalarReduce(changetype<usize>(outBuf) + <usize>outOff, changetype<usize>(inBuf) + <usize>off);
}
