/**
 * The checks RFC 9113 §8.1.1, §8.2 and §8.3.2 require of a received response header section
 * (what nghttp2 enforces for Node and for Envoy): field names are lowercase and nonempty; values
 * carry no NUL, CR or LF; connection-specific fields are absent and `te` can only be "trailers";
 * headers have exactly one pseudo-header, `:status`, first, of three digits; trailers have none.
 *
 * Returns the status (headers) or 0 (trailers) when the section is well formed, else undefined:
 * the stream is malformed and is reset with PROTOCOL_ERROR.
 */
const CONNECTION_SPECIFIC = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"]);
const BAD_NAME = /[A-Z\0\r\n:\s]/;
const BAD_VALUE = /[\0\r\n]/;

export function validateResponseHeaders(list: readonly string[], trailers: boolean): number | undefined {
  let status: number | undefined = trailers ? 0 : undefined;
  for (let i = 0; i < list.length; i += 2) {
    const name = list[i]!;
    const value = list[i + 1]!;
    if (BAD_VALUE.test(value)) return undefined;
    if (name.charCodeAt(0) === 58 /* ":" */) {
      if (trailers || i !== 0 || name !== ":status" || !/^\d{3}$/.test(value)) return undefined;
      status = Number(value);
      continue;
    }
    if (name.length === 0 || BAD_NAME.test(name) || CONNECTION_SPECIFIC.has(name)) return undefined;
    if (name === "te" && value !== "trailers") return undefined;
  }
  return status;
}
