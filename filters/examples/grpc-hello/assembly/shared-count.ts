/**
 * A counter every VM of the plugin shares, kept in proxy-wasm shared data (Envoy: one store per
 * vm_id for the whole process, so all workers see it) as 8 little-endian bytes.
 *
 * Updates are compare-and-swap: read the value with its CAS, write value + 1 with that CAS, and
 * start again when another worker wrote in between (CasMismatch). Envoy's CAS numbers are never 0
 * for an existing key; a CAS of 0 means "write unconditionally", which is only used to create the
 * key with 0 at configure time (two workers creating it at once both write 0, so nothing is lost).
 */
import { WasmResult } from "../../../sdk/abi/imports";
import { getSharedData, setSharedData } from "../../../sdk/hostcalls";

/** Shared-data key of grpc-hello's RPC count. */
export const SHARED_RPCS_KEY = "grpc_hello.rpcs";

/** Attempts before an increment gives up (each failure means another worker made progress). */
// @ts-ignore: decorator
@inline const MAX_ATTEMPTS: i32 = 16;

function encode(value: u64): ArrayBuffer {
  const b = new ArrayBuffer(8);
  store<u64>(changetype<usize>(b), value);
  return b;
}

/** The count under `key`; 0 when missing or not 8 bytes. */
export function readSharedCount(key: string): u64 {
  const d = getSharedData(key);
  return d === null || d.value.byteLength != 8 ? 0 : load<u64>(changetype<usize>(d.value));
}

/** Creates `key` with 0 unless it exists. */
export function initSharedCount(key: string): WasmResult {
  return getSharedData(key) !== null ? WasmResult.Ok : setSharedData(key, encode(0), 0);
}

/** Adds 1 to `key` (creating it if needed); false after MAX_ATTEMPTS conflicting writes. */
export function incrementSharedCount(key: string): bool {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const d = getSharedData(key);
    const cas: u32 = d === null ? 0 : d.cas;
    const current: u64 = d === null || d.value.byteLength != 8 ? 0 : load<u64>(changetype<usize>(d.value));
    const r = setSharedData(key, encode(current + 1), cas);
    if (r != WasmResult.CasMismatch) return r == WasmResult.Ok;
  }
  return false;
}
