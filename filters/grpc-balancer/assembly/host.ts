/**
 * The host calls grpc-balancer makes on every RPC, with keys and property paths encoded once
 * (the SDK's string-taking hostcalls encode them per call): header reads and writes by
 * pre-encoded key, a header value written straight from a byte range, and property reads
 * (NUL-separated paths, as Envoy's Context::getProperty takes them). Same error policy as
 * filters/sdk/hostcalls.ts: a failed call is null or a WasmResult, never a trap.
 */
import * as abi from "../../sdk/abi/imports";
import { RET0, RET1, takeBuffer } from "../../sdk/abi/memory";

/** A property path from its segments, NUL-joined. */
export function propertyPath(segments: Array<string>): ArrayBuffer { return String.UTF8.encode(segments.join("\0")); }

/** The property at `path` (pre-encoded), or null. */
export function property(path: ArrayBuffer): ArrayBuffer | null {
  store<u32>(RET0, 0);
  store<u32>(RET1, 0);
  if (abi.proxy_get_property(changetype<usize>(path), <usize>path.byteLength, RET0, RET1) != abi.WasmResult.Ok) return null;
  const ptr = <usize>load<u32>(RET0);
  if (ptr == 0) return new ArrayBuffer(0);
  return takeBuffer(ptr, <usize>load<u32>(RET1));
}

/** An integer property (8 bytes little-endian), or `fallback`. */
export function propertyU64(path: ArrayBuffer, fallback: u64): u64 {
  const v = property(path);
  return v !== null && v.byteLength >= 8 ? load<u64>(changetype<usize>(v)) : fallback;
}

/** Sets header `key` of `map` to the `len` bytes at `ptr` (replacing any value). */
export function replaceHeader(map: abi.MapType, key: ArrayBuffer, ptr: usize, len: i32): abi.WasmResult {
  return <abi.WasmResult>abi.proxy_replace_header_map_value(map, changetype<usize>(key), <usize>key.byteLength, ptr, <usize>len);
}

export function removeHeader(map: abi.MapType, key: ArrayBuffer): abi.WasmResult {
  return <abi.WasmResult>abi.proxy_remove_header_map_value(map, changetype<usize>(key), <usize>key.byteLength);
}
