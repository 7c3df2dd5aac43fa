/**
 * The one error HPACK decoding raises. Any malformed header block (RFC 7541 §2.3, §4, §5, §6)
 * leaves the connection's dynamic table unusable, so whoever catches it must end the
 * connection with a COMPRESSION_ERROR (RFC 9113 §4.3).
 */
export class HpackError extends Error {
  override readonly name = "HpackError";
}
