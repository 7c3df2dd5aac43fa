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
 *
 * Views: a reader that only looks at a result before its next host call (a header value it
 * parses, a body chunk it feeds to a frame parser) arms the static VIEW block first
 * (`armView`); the host's next allocation of at most VIEW_SIZE bytes then lands there, with no
 * heap allocation, pinning or garbage. A larger result is an ordinary pinned block, unpinned by
 * `releaseView` (or by the next `armView`, so a forgotten release never leaks).
 */

/** Static out-parameter slots (8 bytes each, so u64 results fit). */
// @ts-ignore: decorator
@lazy export const RET0: usize = memory.data(8);
// @ts-ignore: decorator
@lazy export const RET1: usize = memory.data(8);
// @ts-ignore: decorator
@lazy export const RET2: usize = memory.data(8);

/** Bytes a host-written result may have to land in the static view block. */
// @ts-ignore: decorator
@inline export const VIEW_SIZE: usize = 1024;
/** The static view block (16-byte aligned). */
// @ts-ignore: decorator
@lazy export const VIEW: usize = memory.data(<i32>VIEW_SIZE, 16);
// @ts-ignore: decorator
@lazy let viewArmed: bool = false;
/** A pinned block that received a view's result because it did not fit VIEW (0: none). */
// @ts-ignore: decorator
@lazy let viewPinned: usize = 0;

/** Allocates `size` bytes for the host: the armed view block if it fits, else a pinned ArrayBuffer. */
export function allocate(size: usize): usize {
  if (viewArmed) {
    viewArmed = false;
    if (size <= VIEW_SIZE) return VIEW;
    const p = __pin(__new(size, idof<ArrayBuffer>()));
    viewPinned = p;
    return p;
  }
  return __pin(__new(size, idof<ArrayBuffer>()));
}

/** Lets the host's next allocation use the view block (call right before the host call). */
export function armView(): void {
  releaseView();
  viewArmed = true;
}

/** Disarms the view block without releasing a result (right after the host call). */
export function disarmView(): void { viewArmed = false; }

/**
 * Checks a view result the host returned: its length clamped to the block it landed in; -1 when
 * the pointer is neither the view block nor the pinned overflow block (a host bug: not read).
 */
export function viewResultLength(ptr: usize, len: usize): isize {
  if (ptr == VIEW) return <isize>(len < VIEW_SIZE ? len : VIEW_SIZE);
  if (ptr != 0 && ptr == viewPinned) {
    const size = <usize>changetype<ArrayBuffer>(ptr).byteLength;
    return <isize>(len < size ? len : size);
  }
  return -1;
}

/**
 * Ends a view: disarms the block (the host may not have allocated) and unpins a result that did
 * not fit it. The (ptr, len) a view returned are invalid afterwards.
 */
export function releaseView(): void {
  viewArmed = false;
  const p = viewPinned;
  if (p != 0) {
    viewPinned = 0;
    __unpin(p);
  }
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
