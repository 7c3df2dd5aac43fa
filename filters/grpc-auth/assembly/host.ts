/**
 * grpc-auth's property reads and filter-state writes, with paths encoded once (as
 * filters/grpc-metrics/assembly/host.ts): Envoy attributes joined by NUL (proxy-wasm ABI,
 * Envoy Context::getProperty). A missing property is null, never a trap.
 *
 *  - `connection.uri_san_peer_certificate`: the peer certificate's first URI SAN (the SPIFFE ID
 *    under Istio mTLS); absent on plaintext connections.
 *  - `source.address`: "ip:port" / "[ip6]:port".
 *  - `metadata`: the dynamic metadata, where Envoy's jwt_authn writes the verified JWT payload
 *    under filter_metadata["envoy.filters.http.jwt_authn"][payload_in_metadata].
 *  - set_property("grpc_auth_rule") is Envoy's filter state `wasm.grpc_auth_rule`.
 */
import * as abi from "../../sdk/abi/imports";
import { armView, disarmView, releaseView, RET0, RET1, takeBuffer, viewResultLength } from "../../sdk/abi/memory";

// @ts-ignore: decorator
@lazy export const URI_SAN: ArrayBuffer = String.UTF8.encode("connection\0uri_san_peer_certificate");
// @ts-ignore: decorator
@lazy const SOURCE_ADDRESS: ArrayBuffer = String.UTF8.encode("source\0address");
// @ts-ignore: decorator
@lazy const METADATA: ArrayBuffer = String.UTF8.encode("metadata");
// @ts-ignore: decorator
@lazy export const STATE_RULE: ArrayBuffer = String.UTF8.encode("grpc_auth_rule");
// @ts-ignore: decorator
@lazy export const STATE_PRINCIPAL: ArrayBuffer = String.UTF8.encode("grpc_auth_principal");

export const JWT_AUTHN_FILTER = "envoy.filters.http.jwt_authn";

/** The raw value of the property whose NUL-joined UTF-8 path is `path`, or null. */
export function propertyBytes(path: ArrayBuffer): ArrayBuffer | null {
  store<u32>(RET0, 0);
  store<u32>(RET1, 0);
  if (abi.proxy_get_property(changetype<usize>(path), <usize>path.byteLength, RET0, RET1) != abi.WasmResult.Ok) return null;
  const ptr = <usize>load<u32>(RET0);
  const len = <usize>load<u32>(RET1);
  if (ptr == 0) return len == 0 ? new ArrayBuffer(0) : null;
  return takeBuffer(ptr, len);
}

function propertyString(path: ArrayBuffer): string | null {
  const b = propertyBytes(path);
  return b !== null ? String.UTF8.decode(b) : null;
}

export function sourceAddress(): string | null {
  return propertyString(SOURCE_ADDRESS);
}

/** The stream's dynamic metadata: a serialized envoy.config.core.v3.Metadata (metadata.ts reads it). */
export function dynamicMetadata(): ArrayBuffer | null {
  return propertyBytes(METADATA);
}

/** Arms the SDK's static view block for the next host call and clears the out-parameters; returns RET0. */
export function armedOut(): usize {
  store<u32>(RET0, 0);
  store<u32>(RET1, 0);
  armView();
  return RET0;
}

/**
 * After a host call made with `armedOut()`: the length of its result, whose bytes are at
 * `load<u32>(RET0)` until `releaseView()`; -1 (view released) when the call failed or its answer
 * cannot be read whole.
 */
export function viewCall(result: u32): isize {
  disarmView();
  if (result != abi.WasmResult.Ok) { releaseView(); return -1; }
  const len = <usize>load<u32>(RET1);
  if (len == 0) return 0;
  const n = viewResultLength(<usize>load<u32>(RET0), len);
  if (n < 0 || <usize>n != len) { releaseView(); return -1; }
  return n;
}

/** The property at `path` as a view (see viewCall): its length, or -1 when missing. */
export function propertyView(path: ArrayBuffer): isize {
  return viewCall(abi.proxy_get_property(changetype<usize>(path), <usize>path.byteLength, armedOut(), RET1));
}

/** Sets Envoy filter state "wasm.<key>" (key and value UTF-8). */
export function setFilterState(key: ArrayBuffer, value: ArrayBuffer): void {
  abi.proxy_set_property(changetype<usize>(key), <usize>key.byteLength, changetype<usize>(value), <usize>value.byteLength);
}

/** Wall-clock seconds since the epoch (floor), as the JWT time claims count. */
export function nowSeconds(): f64 {
  store<u64>(RET0, 0);
  abi.proxy_get_current_time_nanoseconds(RET0);
  return <f64>(load<u64>(RET0) / 1_000_000_000);
}
