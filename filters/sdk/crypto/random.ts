/**
 * Random bytes from the host: WASI `random_get` (wasi_snapshot_preview1), the only randomness a
 * proxy-wasm module has — Envoy links it for every module (proxy-wasm-cpp-host exports.cc; at most
 * 64 KiB per call) and the local sidecar's host does the same (host/wasi.ts). Declared here rather
 * than in abi/imports.ts because only modules that ask for randomness should import it.
 *
 * Contract: `fillRandom` checks its range, asks in chunks of at most 64 KiB and returns false
 * (never traps) when the host reports an error.
 */
import { addressOf, inRange } from "./bytes";

// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "random_get")
declare function wasi_random_get(buf: usize, len: usize): i32;

/** Host limit per call (PROXY_WASM_HOST_WASI_RANDOM_GET_MAX_SIZE_BYTES). */
const MAX_CHUNK: i32 = 64 * 1024;

/** Fills `buf[offset, +length)` with random bytes; false on a bad range or a host error. */
export function fillRandom(buf: ArrayBuffer, offset: i32, length: i32): bool {
  if (!inRange(buf, offset, length)) return false;
  let done = 0;
  while (done < length) {
    const n = min<i32>(MAX_CHUNK, length - done);
    if (wasi_random_get(addressOf(buf, offset + done), <usize>n) != 0) return false;
    done += n;
  }
  return true;
}
