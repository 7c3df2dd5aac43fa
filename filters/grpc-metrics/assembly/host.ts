/**
 * The two host calls grpc-metrics makes on every RPC that the SDK's hostcalls only offer with a
 * per-call path array (`getPropertyU64(["xds", "listener_direction"])`, `setProperty([...], v)`):
 * here the property paths are encoded once, and the value is read in place (the SDK's view
 * block), so the per-RPC cost is the host call alone. Same
 * error policy as filters/sdk/hostcalls.ts: a failure returns a fallback, never aborts.
 *
 * Property paths are NUL-separated segments (proxy-wasm ABI, Envoy Context::getProperty); a
 * `set_property` of "grpc_method" is Envoy's filter state "wasm.grpc_method"
 * (CelStateKeyPrefix + path), readable in CEL as `filter_state['wasm.grpc_method']`.
 */
import * as abi from "../../sdk/abi/imports";
import { getPropertyView, releaseView, viewLen, viewPtr } from "../../sdk/hostcalls";

// @ts-ignore: decorator
@lazy const LISTENER_DIRECTION: ArrayBuffer = String.UTF8.encode("xds\0listener_direction");

/** Envoy's TrafficDirection of the stream's listener: 0 unspecified, 1 INBOUND, 2 OUTBOUND (0 if unavailable). */
export function listenerDirection(): i64 {
  const v = readListenerDirection();
  return v < 0 ? 0 : v;
}

/**
 * `xds.listener_direction` as the host answers it, -1 when it does not. Envoy answers it in the
 * root context too (the plugin's listener: context.cc, Plugin::direction_), so a root can read
 * it once; a host without that answer leaves the reading to each stream.
 */
export function readListenerDirection(): i64 {
  const v: i64 = getPropertyView(LISTENER_DIRECTION) && viewLen() >= 8 ? load<i64>(viewPtr()) : -1;
  releaseView();
  return v;
}

/** Sets the filter state "wasm.<key>" (key and value already UTF-8); returns the host's result. */
export function setFilterState(key: ArrayBuffer, value: ArrayBuffer): abi.WasmResult {
  return <abi.WasmResult>abi.proxy_set_property(changetype<usize>(key), <usize>key.byteLength,
    changetype<usize>(value), <usize>value.byteLength);
}
