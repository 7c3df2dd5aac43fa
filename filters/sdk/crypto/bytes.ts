/**
 * Byte-range checks and big-endian loads/stores shared by the crypto modules.
 *
 * Contract: every public crypto function takes (ArrayBuffer, offset, length) and first asks
 * `inRange`; only a range that passed it is turned into a raw pointer. So no input, however
 * malformed (negative offsets, lengths past the end, offset + length overflowing i32), reaches a
 * memory access outside the buffer — nothing here or in its callers traps on bad ranges.
 */

/** True when [offset, offset + length) lies inside `buf` (no i32 overflow possible). */
// @ts-ignore: decorator
@inline export function inRange(buf: ArrayBuffer, offset: i32, length: i32): bool {
  return offset >= 0 && length >= 0 && length <= buf.byteLength - offset;
}

/** Address of byte `offset` of `buf` (call only after `inRange`). */
// @ts-ignore: decorator
@inline export function addressOf(buf: ArrayBuffer, offset: i32): usize {
  return changetype<usize>(buf) + <usize>offset;
}

/** Byte swap of a u32 (inlined; the standard library's polyfill is a call). */
// @ts-ignore: decorator
@inline export function swap32(x: u32): u32 {
  return (rotl<u32>(x, 8) & 0x00ff00ff) | (rotr<u32>(x, 8) & 0xff00ff00);
}

/** Byte swap of a u64. */
// @ts-ignore: decorator
@inline export function swap64(x: u64): u64 {
  x = ((x >> 8) & 0x00ff00ff00ff00ff) | ((x & 0x00ff00ff00ff00ff) << 8);
  x = ((x >> 16) & 0x0000ffff0000ffff) | ((x & 0x0000ffff0000ffff) << 16);
  return rotr<u64>(x, 32);
}

/** Big-endian u32 at `ptr`. */
// @ts-ignore: decorator
@inline export function loadBe32(ptr: usize): u32 {
  return swap32(load<u32>(ptr));
}

/** Big-endian u64 at `ptr`. */
// @ts-ignore: decorator
@inline export function loadBe64(ptr: usize): u64 {
  return swap64(load<u64>(ptr));
}

// @ts-ignore: decorator
@inline export function storeBe32(ptr: usize, v: u32): void {
  store<u32>(ptr, swap32(v));
}

// @ts-ignore: decorator
@inline export function storeBe64(ptr: usize, v: u64): void {
  store<u64>(ptr, swap64(v));
}
