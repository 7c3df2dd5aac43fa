/**
 * Raw HTTP/2 (h2c prior knowledge) and HTTP/1.1 requests for tests that must see the exact
 * headers, body and trailers on the wire (e.g. a gRPC trailers-only response is one HEADERS
 * frame with END_STREAM: `trailers` stays empty and `headers` holds grpc-status).
 */
import * as http from "node:http";
import * as http2 from "node:http2";

export interface RawResponse {
  headers: Record<string, string | string[]>;
  body: Buffer;
  trailers: Record<string, string | string[]>;
  /** True when the response ended with the HEADERS frame (no DATA, no trailers). */
  headersOnly: boolean;
}

/** One request on a fresh h2c session; closes the session afterwards. */
export async function h2Request(
  port: number,
  headers: http2.OutgoingHttpHeaders,
  body?: Uint8Array | string,
  opts: { trailers?: Record<string, string> } = {},
): Promise<RawResponse> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  try {
    return await h2RequestOn(session, headers, body, opts);
  } finally {
    await new Promise<void>((r) => session.close(() => r()));
  }
}

export function h2RequestOn(
  session: http2.ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders,
  body?: Uint8Array | string,
  opts: { trailers?: Record<string, string> } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    session.on("error", reject);
    const hasBody = body !== undefined || opts.trailers !== undefined;
    const req = session.request(headers, { endStream: !hasBody, waitForTrailers: opts.trailers !== undefined });
    if (opts.trailers) req.on("wantTrailers", () => req.sendTrailers(opts.trailers!));
    let respHeaders: Record<string, string | string[]> = {};
    let trailers: Record<string, string | string[]> = {};
    let headersOnly = false;
    const chunks: Buffer[] = [];
    req.on("response", (h, flags) => {
      respHeaders = h as Record<string, string | string[]>;
      headersOnly = (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0;
    });
    req.on("trailers", (t) => (trailers = t as Record<string, string | string[]>));
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve({ headers: respHeaders, body: Buffer.concat(chunks), trailers, headersOnly }));
    req.on("error", reject);
    if (hasBody) req.end(body ?? "");
  });
}

/** A gRPC length-prefixed message frame (uncompressed). */
export function grpcFrame(message: Uint8Array): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

export interface H1Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  trailers: NodeJS.Dict<string>;
}

export function h1Request(
  port: number,
  opts: { method?: string; path?: string; headers?: http.OutgoingHttpHeaders; body?: Uint8Array | string },
): Promise<H1Response> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: "127.0.0.1", port, method: opts.method ?? "GET", path: opts.path ?? "/", headers: opts.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), trailers: res.trailers }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(opts.body);
  });
}
