/**
 * Guest linear-memory access for host calls (proxy-wasm-cpp-host `WasmBase::getMemory` /
 * `setMemory` / `copyToPointerSize`).
 *
 * Contract:
 * - Every read or write checks bounds; a pointer or length outside the guest memory throws
 *   `InvalidMemoryAccessError`, which the import layer turns into WasmResult.InvalidMemoryAccess
 *   (6) instead of crashing the host.
 * - Integers are little-endian (u32 / u64), as the ABI requires.
 * - `writeOut(bytes, ptrPtr, lenPtr)` is the host's `**data, *len` pair: an empty value writes
 *   (0, 0) without calling the guest allocator; otherwise the bytes are copied into memory
 *   obtained from the guest allocator (malloc or proxy_on_memory_allocate).
 */
export class InvalidMemoryAccessError extends Error {
  override readonly name = "InvalidMemoryAccessError";
}

const decoder = new TextDecoder("utf-8", { fatal: false });

export class GuestMemory {
  constructor(
    private readonly memory: () => WebAssembly.Memory,
    /** Calls the guest allocator; returns the guest pointer (0 = allocation failed). */
    private readonly allocate: (size: number) => number,
  ) {}

  private view(ptr: number, len: number): Uint8Array {
    const buf = this.memory().buffer;
    const p = ptr >>> 0;
    const l = len >>> 0;
    if (p + l > buf.byteLength) {
      throw new InvalidMemoryAccessError(`guest memory access out of bounds: ${p}+${l} > ${buf.byteLength}`);
    }
    return new Uint8Array(buf, p, l);
  }

  /** A copy of guest bytes [ptr, ptr+len). */
  read(ptr: number, len: number): Uint8Array {
    return this.view(ptr, len).slice();
  }

  readString(ptr: number, len: number): string {
    return decoder.decode(this.view(ptr, len));
  }

  write(ptr: number, bytes: Uint8Array): void {
    this.view(ptr, bytes.length).set(bytes);
  }

  writeU32(ptr: number, value: number): void {
    const v = this.view(ptr, 4);
    new DataView(v.buffer, v.byteOffset, 4).setUint32(0, value >>> 0, true);
  }

  writeU64(ptr: number, value: bigint): void {
    const v = this.view(ptr, 8);
    new DataView(v.buffer, v.byteOffset, 8).setBigUint64(0, BigInt.asUintN(64, value), true);
  }

  readU32(ptr: number): number {
    const v = this.view(ptr, 4);
    return new DataView(v.buffer, v.byteOffset, 4).getUint32(0, true);
  }

  /**
   * Copies `bytes` into freshly allocated guest memory and writes the pointer and length to
   * the out-params. Empty -> (0, 0), no allocation.
   */
  writeOut(bytes: Uint8Array, ptrPtr: number, lenPtr: number): void {
    // Check the out-params first so a bad pointer costs no allocation.
    this.view(ptrPtr, 4);
    this.view(lenPtr, 4);
    if (bytes.length === 0) {
      this.writeU32(ptrPtr, 0);
      this.writeU32(lenPtr, 0);
      return;
    }
    const ptr = this.allocate(bytes.length) >>> 0;
    if (ptr === 0) throw new InvalidMemoryAccessError("guest allocator returned 0");
    this.write(ptr, bytes);
    this.writeU32(ptrPtr, ptr);
    this.writeU32(lenPtr, bytes.length);
  }
}
