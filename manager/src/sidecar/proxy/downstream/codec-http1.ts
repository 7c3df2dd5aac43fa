/**
 * HTTP/1.x downstream codec on node:http. The request line and Host become :method, :path,
 * :authority and :scheme "http", or "https" on a TLS connection (Envoy's HTTP/1 codec does the
 * same; `host` is :authority).
 * - A request with neither content-length nor transfer-encoding ends on its headers.
 * - Chunked trailers become onTrailers; otherwise the end is onData(empty, true).
 * - Responses: pseudo-headers dropped; trailers need chunked encoding (node adds it when
 *   no content-length is set). A local reset or a response finished before the request
 *   closes the connection (Envoy closes HTTP/1 connections it cannot reuse).
 */
import * as http from "node:http";
import { HeaderMap } from "../../http/header-map.ts";
import { CONNECTION_SPECIFIC, headerMapFromRaw, type CodecStream, type ConnectionInfo, type RequestEvents } from "./codec.ts";

export function createHttp1Server(onStream: (s: CodecStream) => void, connectionOf: (socket: object) => ConnectionInfo) {
  const server = http.createServer({ requestTimeout: 0, keepAliveTimeout: 60_000 }, (req, res) => {
    onStream(new Http1CodecStream(req, res, connectionOf(req.socket)));
  });
  server.on("clientError", (_err, socket) => socket.destroy());
  return server;
}

class Http1CodecStream implements CodecStream {
  readonly protocol: "HTTP/1.0" | "HTTP/1.1";
  readonly headers: HeaderMap;
  readonly endStreamOnHeaders: boolean;
  private localDone = false;
  private remoteDone: boolean;
  private events?: RequestEvents;

  constructor(
    private readonly req: http.IncomingMessage,
    private readonly res: http.ServerResponse,
    readonly connection: ConnectionInfo,
  ) {
    this.protocol = req.httpVersion === "1.0" ? "HTTP/1.0" : "HTTP/1.1";
    const h = new HeaderMap([
      [":method", req.method ?? "GET"],
      [":path", req.url ?? "/"],
      [":scheme", connection.ssl ? "https" : "http"],
    ]);
    const raw: string[] = [];
    for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
      const k = req.rawHeaders[i]!.toLowerCase();
      if (k === "host") h.add(":authority", req.rawHeaders[i + 1]!);
      else raw.push(k, req.rawHeaders[i + 1]!);
    }
    this.headers = headerMapFromRaw(raw, h);
    this.endStreamOnHeaders = req.headers["content-length"] === undefined && req.headers["transfer-encoding"] === undefined
      ? true
      : req.headers["content-length"] === "0";
    this.remoteDone = this.endStreamOnHeaders;
  }

  start(events: RequestEvents): void {
    this.events = events;
    const { req, res } = this;
    req.on("data", (chunk: Buffer) => {
      if (!this.endStreamOnHeaders) events.onData(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length), false);
    });
    req.on("end", () => {
      if (this.endStreamOnHeaders) return;
      this.remoteDone = true;
      if (req.rawTrailers.length > 0) events.onTrailers(headerMapFromRaw(req.rawTrailers, new HeaderMap()));
      else events.onData(new Uint8Array(), true);
    });
    req.on("error", () => {});
    res.on("drain", () => events.onWritable());
    res.on("close", () => {
      if (this.localDone && res.writableFinished) return;
      events.onReset("downstream_remote_disconnect", true);
    });
    if (this.endStreamOnHeaders) req.resume();
  }

  sendHeaders(headers: HeaderMap, endStream: boolean): void {
    if (this.res.headersSent || this.res.destroyed) return;
    const status = Number(headers.get(":status") ?? "200");
    const flat: string[] = [];
    for (const [k, v] of headers.view()) if (!k.startsWith(":") && !CONNECTION_SPECIFIC.has(k)) flat.push(k, v);
    this.res.writeHead(status, flat);
    if (endStream) this.end();
  }

  sendData(data: Uint8Array, endStream: boolean): void {
    if (this.res.destroyed) return;
    if (data.length > 0 && !this.res.write(data)) this.events?.onBackpressure();
    if (endStream) this.end();
  }

  sendTrailers(trailers: HeaderMap): void {
    if (this.res.destroyed) return;
    const t: Array<[string, string]> = [];
    for (const [k, v] of trailers.view()) t.push([k, v]);
    this.res.addTrailers(t);
    this.end();
  }

  private end(): void {
    this.localDone = true;
    this.res.end();
    if (!this.remoteDone) this.res.once("finish", () => this.req.socket.destroySoon());
  }

  reset(): void {
    this.localDone = true;
    this.remoteDone = true;
    this.req.socket.destroy();
  }

  setReading(enabled: boolean): void {
    if (enabled) this.req.resume();
    else this.req.pause();
  }
}
