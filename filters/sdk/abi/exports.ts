/**
 * Every `proxy_on_*` callback of proxy-wasm ABI 0.2.1 (spec §"Callbacks", ABI note §1.2), the
 * ABI version marker and the allocator, dispatching by context id to the contexts created through
 * `../context`. A filter's entry file re-exports this module:
 *
 *     export * from "../../sdk/abi/exports";
 *
 * Unknown context ids (a host bug, or a stream whose root created no context) are answered with
 * Continue / no-op rather than a trap.
 *
 * Memory management: filters build with the `minimal` runtime (TLSF + a mark & sweep collector
 * invoked explicitly, no shadow stack). Collection is only safe when no managed reference lives on
 * the Wasm stack — exactly at the end of a host callback — so the SDK runs `__collect()` there every
 * `collectInterval()` callbacks (../gc.ts). Roots are the context maps (globals) and pinned host allocations.
 */
import { roots, httpContexts, tcpContexts, pendingCalls, createRoot, createStream, deliverHttpCallResponse } from "../context";
import { FilterHeadersStatus, FilterDataStatus, FilterTrailersStatus, FilterStatus, PeerType } from "./imports";
import { allocate } from "./memory";
import { collectInterval } from "../gc";
import "./abort";

// Callbacks between two garbage collections: 64 by default (a unary gRPC stream is ~9
// callbacks); a filter with much long-lived state may raise it (../gc.ts).
// @ts-ignore: decorator
@lazy let sinceCollect: u32 = 0;

// @ts-ignore: decorator
@inline function quiesce(): void {
  if (++sinceCollect >= collectInterval()) { sinceCollect = 0; __collect(); }
}

/** ABI version marker the host scans exports for. */
export function proxy_abi_version_0_2_1(): void {}

/** Allocator for host-written results (Envoy looks up `malloc` first). */
export function malloc(size: usize): usize { return allocate(size); }
export function proxy_on_memory_allocate(size: usize): usize { return allocate(size); }

// ===== lifecycle =====

export function proxy_on_context_create(contextId: u32, parentId: u32): void {
  if (parentId == 0) createRoot(contextId); else createStream(contextId, parentId);
  quiesce();
}

export function proxy_on_vm_start(rootId: u32, vmConfigSize: u32): bool {
  const ok = roots.has(rootId) ? roots.get(rootId).onVmStart(vmConfigSize) : false;
  quiesce();
  return ok;
}

export function proxy_on_configure(rootId: u32, configSize: u32): bool {
  const ok = roots.has(rootId) ? roots.get(rootId).onConfigure(configSize) : false;
  quiesce();
  return ok;
}

export function proxy_on_done(contextId: u32): bool {
  let r: bool = true;
  if (httpContexts.has(contextId)) r = httpContexts.get(contextId).onDone();
  else if (tcpContexts.has(contextId)) r = tcpContexts.get(contextId).onDone();
  else if (roots.has(contextId)) r = roots.get(contextId).onDone();
  quiesce();
  return r;
}

export function proxy_on_log(contextId: u32): void {
  if (httpContexts.has(contextId)) httpContexts.get(contextId).onLog();
  else if (tcpContexts.has(contextId)) tcpContexts.get(contextId).onLog();
  else if (roots.has(contextId)) roots.get(contextId).onLog();
  quiesce();
}

export function proxy_on_delete(contextId: u32): void {
  if (httpContexts.has(contextId)) { const c = httpContexts.get(contextId); httpContexts.delete(contextId); c.onDelete(); }
  else if (tcpContexts.has(contextId)) { const c = tcpContexts.get(contextId); tcpContexts.delete(contextId); c.onDelete(); }
  else if (roots.has(contextId)) { const c = roots.get(contextId); roots.delete(contextId); c.onDelete(); }
  quiesce();
}

// ===== HTTP stream =====

export function proxy_on_request_headers(contextId: u32, numHeaders: u32, endOfStream: u32): u32 {
  let r = FilterHeadersStatus.Continue;
  if (httpContexts.has(contextId)) r = httpContexts.get(contextId).onRequestHeaders(numHeaders, endOfStream != 0);
  quiesce();
  return r;
}

export function proxy_on_request_body(contextId: u32, bodySize: u32, endOfStream: u32): u32 {
  let r = FilterDataStatus.Continue;
  if (httpContexts.has(contextId)) r = httpContexts.get(contextId).onRequestBody(bodySize, endOfStream != 0);
  quiesce();
  return r;
}

export function proxy_on_request_trailers(contextId: u32, numTrailers: u32): u32 {
  let r = FilterTrailersStatus.Continue;
  if (httpContexts.has(contextId)) r = httpContexts.get(contextId).onRequestTrailers(numTrailers);
  quiesce();
  return r;
}

export function proxy_on_response_headers(contextId: u32, numHeaders: u32, endOfStream: u32): u32 {
  let r = FilterHeadersStatus.Continue;
  if (httpContexts.has(contextId)) r = httpContexts.get(contextId).onResponseHeaders(numHeaders, endOfStream != 0);
  quiesce();
  return r;
}

export function proxy_on_response_body(contextId: u32, bodySize: u32, endOfStream: u32): u32 {
  let r = FilterDataStatus.Continue;
  if (httpContexts.has(contextId)) r = httpContexts.get(contextId).onResponseBody(bodySize, endOfStream != 0);
  quiesce();
  return r;
}

export function proxy_on_response_trailers(contextId: u32, numTrailers: u32): u32 {
  let r = FilterTrailersStatus.Continue;
  if (httpContexts.has(contextId)) r = httpContexts.get(contextId).onResponseTrailers(numTrailers);
  quiesce();
  return r;
}

// ===== TCP =====

export function proxy_on_new_connection(contextId: u32): u32 {
  let r = FilterStatus.Continue;
  if (tcpContexts.has(contextId)) r = tcpContexts.get(contextId).onNewConnection();
  quiesce();
  return r;
}

export function proxy_on_downstream_data(contextId: u32, dataSize: u32, endOfStream: u32): u32 {
  let r = FilterStatus.Continue;
  if (tcpContexts.has(contextId)) r = tcpContexts.get(contextId).onDownstreamData(dataSize, endOfStream != 0);
  quiesce();
  return r;
}

export function proxy_on_upstream_data(contextId: u32, dataSize: u32, endOfStream: u32): u32 {
  let r = FilterStatus.Continue;
  if (tcpContexts.has(contextId)) r = tcpContexts.get(contextId).onUpstreamData(dataSize, endOfStream != 0);
  quiesce();
  return r;
}

export function proxy_on_downstream_connection_close(contextId: u32, peerType: u32): void {
  if (tcpContexts.has(contextId)) tcpContexts.get(contextId).onDownstreamConnectionClose(<PeerType>peerType);
  quiesce();
}

export function proxy_on_upstream_connection_close(contextId: u32, peerType: u32): void {
  if (tcpContexts.has(contextId)) tcpContexts.get(contextId).onUpstreamConnectionClose(<PeerType>peerType);
  quiesce();
}

// ===== root-context events =====

export function proxy_on_tick(rootId: u32): void {
  if (roots.has(rootId)) roots.get(rootId).onTick();
  quiesce();
}

export function proxy_on_queue_ready(rootId: u32, queueId: u32): void {
  if (roots.has(rootId)) roots.get(rootId).onQueueReady(queueId);
  quiesce();
}

export function proxy_on_foreign_function(rootId: u32, functionId: u32, argsSize: u32): void {
  if (roots.has(rootId)) roots.get(rootId).onForeignFunction(functionId, argsSize);
  quiesce();
}

export function proxy_on_http_call_response(rootId: u32, token: u32, numHeaders: u32, bodySize: u32, numTrailers: u32): void {
  if (roots.has(rootId)) deliverHttpCallResponse(roots.get(rootId), token, numHeaders, bodySize, numTrailers);
  else if (pendingCalls.has(token)) pendingCalls.delete(token);
  quiesce();
}

export function proxy_on_grpc_receive_initial_metadata(rootId: u32, token: u32, numElements: u32): void {
  if (roots.has(rootId)) roots.get(rootId).onGrpcReceiveInitialMetadata(token, numElements);
  quiesce();
}

export function proxy_on_grpc_receive(rootId: u32, token: u32, messageSize: u32): void {
  if (roots.has(rootId)) roots.get(rootId).onGrpcReceive(token, messageSize);
  quiesce();
}

export function proxy_on_grpc_receive_trailing_metadata(rootId: u32, token: u32, numElements: u32): void {
  if (roots.has(rootId)) roots.get(rootId).onGrpcReceiveTrailingMetadata(token, numElements);
  quiesce();
}

export function proxy_on_grpc_close(rootId: u32, token: u32, statusCode: u32): void {
  if (roots.has(rootId)) roots.get(rootId).onGrpcClose(token, statusCode);
  quiesce();
}
