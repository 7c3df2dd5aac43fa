/**
 * Writes one request body chunk to an upstream Node stream (HTTP/1.1 ClientRequest or HTTP/2
 * ClientHttp2Stream): `endStream` ends the request with the chunk. Returns false when the stream
 * wants the writer to wait for 'drain' (backpressure); a stream already gone accepts silently.
 */
import type { Writable } from "node:stream";

export function writeBody(stream: Writable | undefined, data: Uint8Array, endStream: boolean): boolean {
  if (!stream || stream.destroyed) return true;
  if (endStream) {
    stream.end(data.length > 0 ? data : undefined);
    return true;
  }
  return data.length === 0 ? true : stream.write(data);
}
