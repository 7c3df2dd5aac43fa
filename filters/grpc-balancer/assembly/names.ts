/**
 * Name lookups without allocation: `SlotIndex` is an open-addressing hash index (linear probing,
 * load factor <= 1/2) from a 32-bit hash to table slots; the caller compares the bytes it finds
 * against the table, so the index stores no names. It is rebuilt whole whenever the local table
 * is replaced (no deletions in between).
 *
 * `PendingNames` holds names a stream met that the table does not have yet (a new endpoint, a
 * new method, a new cluster): fixed capacity, bytes copied into one pool, duplicates dropped.
 * The next fold inserts them into the shared table.
 */
import { hashBytes, sameBytes } from "./table";

export class SlotIndex {
  private readonly slots: StaticArray<i32>;
  private readonly hashes: StaticArray<u32>;
  private readonly mask: i32;

  /** Room for `capacity` entries. */
  constructor(capacity: i32) {
    let size = 16;
    while (size < capacity * 2) size <<= 1;
    this.slots = new StaticArray<i32>(size);
    this.hashes = new StaticArray<u32>(size);
    this.mask = size - 1;
  }

  clear(): void {
    for (let i = 0, n = this.slots.length; i < n; i++) unchecked(this.slots[i] = 0);
  }

  insert(hash: u32, slot: i32): void {
    let i = <i32>(hash & <u32>this.mask);
    while (unchecked(this.slots[i]) != 0) i = (i + 1) & this.mask;
    unchecked(this.slots[i] = slot + 1);
    unchecked(this.hashes[i] = hash);
  }

  /** First probe position holding `hash`, or -1. Iterate with `next`; read with `slotAt`. */
  first(hash: u32): i32 { return this.scan(hash, <i32>(hash & <u32>this.mask)); }

  next(hash: u32, pos: i32): i32 { return this.scan(hash, (pos + 1) & this.mask); }

  slotAt(pos: i32): i32 { return unchecked(this.slots[pos]) - 1; }

  private scan(hash: u32, from: i32): i32 {
    let i = from;
    while (true) {
      const s = unchecked(this.slots[i]);
      if (s == 0) return -1;
      if (unchecked(this.hashes[i]) == hash) return i;
      i = (i + 1) & this.mask;
    }
  }
}

/** Up to `capacity` names of at most `maxLength` bytes, each with a tag and flags. */
export class PendingNames {
  count: i32 = 0;
  /** Names not kept because the list was full. */
  dropped: u64 = 0;
  private readonly pool: ArrayBuffer;
  private readonly lengths: StaticArray<i32>;
  private readonly tags: StaticArray<i32>;
  private readonly flagBits: StaticArray<u8>;

  constructor(public readonly capacity: i32, public readonly maxLength: i32) {
    this.pool = new ArrayBuffer(capacity * maxLength);
    this.lengths = new StaticArray<i32>(capacity);
    this.tags = new StaticArray<i32>(capacity);
    this.flagBits = new StaticArray<u8>(capacity);
  }

  namePtr(i: i32): usize { return changetype<usize>(this.pool) + <usize>(i * this.maxLength); }
  nameLen(i: i32): i32 { return unchecked(this.lengths[i]); }
  tag(i: i32): i32 { return unchecked(this.tags[i]); }
  flags(i: i32): u8 { return unchecked(this.flagBits[i]); }

  /** Index of (tag, name), or -1. */
  find(tag: i32, ptr: usize, len: i32): i32 {
    for (let i = 0; i < this.count; i++) {
      if (unchecked(this.tags[i]) == tag && sameBytes(this.namePtr(i), unchecked(this.lengths[i]), ptr, len)) return i;
    }
    return -1;
  }

  /** Adds (tag, name) unless present (flags are OR-ed in then); false when too long or full. */
  add(tag: i32, ptr: usize, len: i32, flags: u8 = 0): bool {
    if (len < 0 || len > this.maxLength) return false;
    const found = this.find(tag, ptr, len);
    if (found >= 0) {
      unchecked(this.flagBits[found] = unchecked(this.flagBits[found]) | flags);
      return true;
    }
    if (this.count >= this.capacity) { this.dropped++; return false; }
    const i = this.count++;
    memory.copy(this.namePtr(i), ptr, <usize>len);
    unchecked(this.lengths[i] = len);
    unchecked(this.tags[i] = tag);
    unchecked(this.flagBits[i] = flags);
    return true;
  }

  clear(): void { this.count = 0; }
}

/** The hash an endpoint is indexed under: its cluster slot and address bytes. */
export function endpointHash(cluster: i32, ptr: usize, len: i32): u32 {
  return hashBytes(<u32>cluster * 0x9e3779b1, ptr, len);
}

/** The hash a cluster or class name is indexed under. */
export function nameHash(ptr: usize, len: i32): u32 { return hashBytes(0, ptr, len); }
