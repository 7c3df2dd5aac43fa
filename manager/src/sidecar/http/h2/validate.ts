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

const REQUEST_PSEUDO = new Set([":method", ":scheme", ":authority", ":path"]);

export interface RequestCheck {
  /** The request's content-length, when it declares one (DATA must add up to it, §8.1.1). */
  contentLength?: number;
}

/**
 * RFC 9113 §8.3.1 for a received request header section (what nghttp2 enforces for Node and
 * for Envoy): the rules of field names and values above; only :method, :scheme, :authority and
 * :path, each at most once and before every regular field; :method, :scheme and a nonempty
 * :path unless the method is CONNECT, which carries :authority and neither of the others; a
 * content-length of digits, repeated only with the same value. Trailers carry no pseudo-header.
 * Returns undefined when the section is malformed.
 */
export function validateRequestHeaders(list: readonly string[], trailers: boolean): RequestCheck | undefined {
  const seen = new Set<string>();
  let regular = false;
  let contentLength: number | undefined;
  let method: string | undefined;
  let path: string | undefined;
  for (let i = 0; i < list.length; i += 2) {
    const name = list[i]!;
    const value = list[i + 1]!;
    if (BAD_VALUE.test(value)) return undefined;
    if (name.charCodeAt(0) === 58 /* ":" */) {
      if (trailers || regular || !REQUEST_PSEUDO.has(name) || seen.has(name)) return undefined;
      seen.add(name);
      if (name === ":method") method = value;
      else if (name === ":path") path = value;
      continue;
    }
    regular = true;
    if (name.length === 0 || BAD_NAME.test(name) || CONNECTION_SPECIFIC.has(name)) return undefined;
    if (name === "te" && value !== "trailers") return undefined;
    if (name === "content-length" && !trailers) {
      if (!/^\d{1,15}$/.test(value)) return undefined;
      const n = Number(value);
      if (contentLength !== undefined && contentLength !== n) return undefined;
      contentLength = n;
    }
  }
  if (trailers) return {};
  if (method === undefined) return undefined;
  if (method === "CONNECT") {
    if (!seen.has(":authority") || seen.has(":scheme") || path !== undefined) return undefined;
  } else if (!seen.has(":scheme") || !path) return undefined;
  return { contentLength };
}
