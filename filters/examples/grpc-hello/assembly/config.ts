/**
 * grpc-hello configuration (README.md documents it), read once in onConfigure with the SDK's
 * ConfigReader: every field optional, unknown fields rejected, each error naming its field.
 *
 *   {"deny_methods": ["meshtest.Echo/ClientStream"], "deny_message": "not here",
 *    "peer_header": "x-hello-peer", "max_series": 100, "tick_ms": 1000}
 */
import { ConfigReader } from "../../../sdk/json";
import { parseGrpcPath } from "../../../sdk/grpc";

export class Config {
  /** Full method names ("package.Service/Method") answered with PERMISSION_DENIED. */
  denyMethods: Set<string> = new Set<string>();
  /** grpc-message of those answers. */
  denyMessage: string = "denied by grpc-hello";
  /** Request header that carries the caller's address (property source.address); "" = none. */
  peerHeader: string = "x-hello-peer";
  /** Series bound of each labelled metric. */
  maxSeries: i32 = 100;
  /** Period of the tick that publishes the shared RPC count; 0 = no tick. */
  tickMs: u32 = 1000;
}

const FIELDS = ["deny_methods", "deny_message", "peer_header", "max_series", "tick_ms"];

/** Parses `bytes`; null when invalid, with every problem in `reader` (reader.summary()). */
export function parseConfig(bytes: ArrayBuffer, reader: ConfigReader): Config | null {
  const root = reader.readBytes(bytes);
  if (root === null) return null;
  root.unknownFields(FIELDS);
  const config = new Config();
  const deny = root.optionalArray("deny_methods");
  for (let i = 0; deny !== null && i < deny.length; i++) {
    const errors = reader.errorCount();
    const name = deny.string(i);
    if (reader.errorCount() != errors) continue; // not a string: already reported
    // Same syntax as a request's :path without the leading slash.
    if (parseGrpcPath("/" + name) === null) deny.fail(i, "expected \"package.Service/Method\"");
    else config.denyMethods.add(name);
  }
  config.denyMessage = root.optionalString("deny_message", config.denyMessage);
  config.peerHeader = root.optionalString("peer_header", config.peerHeader);
  if (!isLowerCaseToken(config.peerHeader)) root.fail("peer_header", "expected a lower-case header name or \"\"");
  config.maxSeries = <i32>root.optionalInteger("max_series", config.maxSeries, 1, 10_000);
  config.tickMs = <u32>root.optionalInteger("tick_ms", config.tickMs, 0, 3_600_000);
  return reader.ok() ? config : null;
}

/** "" or an RFC 9110 token of lower-case letters, digits and !#$%&'*+-.^_`|~ (no pseudo-headers). */
function isLowerCaseToken(s: string): bool {
  for (let i = 0, n = s.length; i < n; i++) {
    const c = s.charCodeAt(i);
    if ((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39)) continue;
    if ("!#$%&'*+-.^_`|~".indexOf(String.fromCharCode(c)) < 0) return false;
  }
  return true;
}
