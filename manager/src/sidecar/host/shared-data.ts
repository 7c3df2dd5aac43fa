/**
 * Process-wide shared data (proxy_get_shared_data / proxy_set_shared_data), as in
 * proxy-wasm-cpp-host src/shared_data.cc, which Envoy uses:
 *
 * - One namespace per vm_id string (the empty vm_id is a namespace too), shared by every
 *   VM and worker with that vm_id.
 * - `set` with cas 0 writes unconditionally. With a non-zero cas it fails with CasMismatch
 *   when the key exists with another CAS; a key that does not exist yet is written whatever
 *   the cas (cpp-host checks the CAS only for existing keys).
 * - Every write gets a new CAS from one process-wide counter: non-zero u32, increasing,
 *   skipping 0 on wrap-around (`SharedData::nextCas`).
 * - `get` of a missing key (or namespace) is NotFound. ABI 0.2.1 has no delete.
 * Values are copied on the way in and on the way out.
 */
import { WasmResult } from "./abi.ts";

/** A non-zero u32 counter that wraps past 0 (cpp-host nextCas / nextQueueToken). */
export class U32Sequence {
  private nextValue: number;
  constructor(start = 1) {
    this.nextValue = start >>> 0 || 1;
  }
  next(): number {
    const v = this.nextValue;
    this.nextValue = (this.nextValue + 1) >>> 0;
    if (this.nextValue === 0) this.nextValue = 1;
    return v;
  }
}

interface Entry {
  value: Uint8Array;
  cas: number;
}

export class SharedData {
  private readonly byVm = new Map<string, Map<string, Entry>>();

  constructor(private readonly cas: U32Sequence = new U32Sequence()) {}

  get(vmId: string, key: string): { result: WasmResult; value?: Uint8Array; cas?: number } {
    const entry = this.byVm.get(vmId)?.get(key);
    if (!entry) return { result: WasmResult.NotFound };
    return { result: WasmResult.Ok, value: entry.value.slice(), cas: entry.cas };
  }

  set(vmId: string, key: string, value: Uint8Array, cas: number): WasmResult {
    let map = this.byVm.get(vmId);
    if (!map) {
      map = new Map();
      this.byVm.set(vmId, map);
    }
    const existing = map.get(key);
    if (existing && cas !== 0 && cas >>> 0 !== existing.cas) return WasmResult.CasMismatch;
    map.set(key, { value: value.slice(), cas: this.cas.next() });
    return WasmResult.Ok;
  }

  /** Keys of one namespace (for admin/debug views and tests). */
  keys(vmId: string): string[] {
    return [...(this.byVm.get(vmId)?.keys() ?? [])];
  }

  /** Drops a vm_id's namespace (cpp-host deletes it when the last VM with that id goes). */
  deleteByVmId(vmId: string): void {
    this.byVm.delete(vmId);
  }
}
