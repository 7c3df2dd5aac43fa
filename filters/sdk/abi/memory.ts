/**
 * Guest memory for host-written results.
 *
 * Allocator choice: the host calls `malloc(size)` (Envoy looks it up before
 * `proxy_on_memory_allocate`) and then writes data there before returning to the guest. The block
 * must survive any GC in between, so `allocate` creates a managed ArrayBuffer with `__new` and
 * pins it with `__pin`. The SDK later adopts the block with `takeBuffer`, which unpins it and
 * hands it out as an ordinary ArrayBuffer — zero-copy for body bytes and shared data. A block
 * that is never taken stays pinned (only a host that allocates and then fails would cause that).
 *
 * `RET0`..`RET2` are static scratch words for out-parameters; no host call re-enters the guest
 * except through `malloc`, which does not touch them.
 */

/** Static out-parameter slots (8 bytes each, so u64 results fit). */
// @ts-ignore: decorator
@lazy export const RET0: usize = memory.data(8);
// @ts-ignore: decorator
@lazy export const RET1: usize = memory.data(8);
// @ts-ignore: decorator
@lazy export const RET2: usize = memory.data(8);

/** Allocates `size` bytes for the host as a pinned ArrayBuffer; returns its data pointer. */
export function allocate(size: usize): usize {
  return __pin(__new(size, idof<ArrayBuffer>()));
}

/**
 * Adopts a block the host wrote through `allocate`: unpins it and returns exactly `len` bytes.
 * `ptr == 0` (the host's "empty" encoding) yields an empty buffer.
 */
export function takeBuffer(ptr: usize, len: usize): ArrayBuffer {
  if (ptr == 0) return new ArrayBuffer(0);
  __unpin(ptr);
  const buf = changetype<ArrayBuffer>(ptr);
  if (<usize>buf.byteLength == len) return buf;
  // The host wrote fewer bytes than it asked for: trim (never read past the block).
  return buf.slice(0, <i32>min<usize>(len, <usize>buf.byteLength));
}

/** Adopts a host-written block and decodes it as UTF-8. */
export function takeString(ptr: usize, len: usize): string {
  if (ptr == 0) return "";
  const n = min<usize>(len, <usize>changetype<ArrayBuffer>(ptr).byteLength);
  const s = String.UTF8.decodeUnsafe(ptr, n);
  __unpin(ptr);
  return s;
}
