/**
 * http_call dispatch (Envoy's Http::AsyncClientImpl): each call runs the router filter
 * against the named cluster with the call's timeout as the route timeout, and collects the
 * response. Router local replies become normal responses (504 "upstream request timeout",
 * 503 on connect failure or no healthy upstream); a reset after the response started becomes
 * onReset("reset"). Callbacks always fire asynchronously; cancelling stops the upstream
 * request and suppresses every callback.
 */
import { BodyBuffer } from "../../http/body-buffer.ts";
import type { DecoderFilterCallbacks, LocalReply, RouteDecision } from "../../http/filter.ts";
import { HeaderMap, type HeaderPair } from "../../http/header-map.ts";
import { StreamInfo } from "../../http/stream-info.ts";
import type { HttpCallCallbacks, HttpCallRequest } from "../../host/api.ts";
import { RouterFilter, type RouterDeps } from "./router-filter.ts";
import { inertDecoderCallbacks } from "./inert-callbacks.ts";

let nextStreamId = 1n << 48n;

export function dispatchHttpCall(deps: RouterDeps, request: HttpCallRequest, callbacks: HttpCallCallbacks): () => void {
  let cancelled = false;
  let delivered = false;
  const respHeaders: HeaderPair[] = [];
  const body = new BodyBuffer();
  let trailers: HeaderPair[] = [];
  const deliver = (fn: () => void): void => {
    if (delivered) return;
    delivered = true;
    setImmediate(() => {
      if (!cancelled) fn();
    });
  };
  const finishResponse = (): void =>
    deliver(() => callbacks.onResponse({ headers: respHeaders, body: body.slice(), trailers }));

  const route: RouteDecision = {
    routeName: "async_client",
    virtualHostName: "async_client",
    clusterName: request.cluster,
    timeoutMs: request.timeoutMs,
  };
  const router = new RouterFilter(deps);
  const cb: DecoderFilterCallbacks = {
    streamInfo: new StreamInfo(),
    streamId: nextStreamId++,
    bufferLimit: 1 << 30,
    sendLocalReply(reply: LocalReply): boolean {
      respHeaders.push([":status", String(reply.status)]);
      for (const [k, v] of reply.headers ?? []) respHeaders.push([k.toLowerCase(), v]);
      if (reply.body !== undefined) {
        const bytes = typeof reply.body === "string" ? new TextEncoder().encode(reply.body) : reply.body;
        respHeaders.push(["content-length", String(bytes.length)], ["content-type", "text/plain"]);
        body.append(bytes);
      }
      finishResponse();
      return true;
    },
    resetStream: () => deliver(() => callbacks.onReset("reset")),
    ...inertDecoderCallbacks(route),
    encodeHeaders(h: HeaderMap, end: boolean) {
      respHeaders.push(...h.pairs());
      if (end) finishResponse();
    },
    encodeData(d: BodyBuffer, end: boolean) {
      body.append(d.slice());
      if (end) finishResponse();
    },
    encodeTrailers(t: HeaderMap) {
      trailers = t.pairs();
      finishResponse();
    },
    readDisable: () => {},
    onDownstreamWatermark: () => {},
  };
  router.setDecoderFilterCallbacks(cb);
  const headers = new HeaderMap(request.headers);
  const hasBody = request.body.length > 0;
  const hasTrailers = request.trailers.length > 0;
  router.decodeHeaders(headers, !hasBody && !hasTrailers);
  if (hasBody) router.decodeData(new BodyBuffer(request.body), !hasTrailers);
  if (hasTrailers) router.decodeTrailers(new HeaderMap(request.trailers));
  return () => {
    if (cancelled) return;
    cancelled = true;
    router.onDestroy();
  };
}
