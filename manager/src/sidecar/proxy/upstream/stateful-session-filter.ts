/**
 * envoy.filters.http.stateful_session with envoy.http.stateful_session.header
 * (source/extensions/filters/http/stateful_session/, source/extensions/http/stateful_session/header/):
 * the request header's value is base64("ip:port"); when it decodes to an address the filter
 * calls setUpstreamOverrideHost(address, strict). On the response, when the host that served
 * the request differs from the requested one (or none was requested), the header is set to
 * base64 of the served host's "ip:port".
 */
import {
  PassThroughFilter,
  HeadersStatus,
  type StreamFilterFactory,
} from "../../http/filter.ts";
import type { HeaderMap } from "../../http/header-map.ts";
import type { StatefulSessionFilterConfig } from "../../config/model.ts";
import { addressKey, parseAddressKey } from "./host.ts";

export class StatefulSessionFilter extends PassThroughFilter {
  private requested?: string;

  constructor(private readonly config: StatefulSessionFilterConfig) {
    super();
  }

  override decodeHeaders(headers: HeaderMap, _endStream: boolean): HeadersStatus {
    const value = headers.get(this.config.headerName);
    if (value !== undefined && value.length > 0) {
      const decoded = Buffer.from(value, "base64").toString("utf8");
      const addr = parseAddressKey(decoded);
      if (addr) {
        this.requested = addressKey(addr);
        this.decoderCallbacks.setUpstreamOverrideHost(addr, this.config.strict);
      }
    }
    return HeadersStatus.Continue;
  }

  override encodeHeaders(headers: HeaderMap, _endStream: boolean): HeadersStatus {
    const served = this.encoderCallbacks.streamInfo.upstreamHost;
    if (served) {
      const key = addressKey(served);
      if (this.requested !== key) headers.setCopy(this.config.headerName, Buffer.from(key, "utf8").toString("base64"));
    }
    return HeadersStatus.Continue;
  }
}

export function statefulSessionFilterFactory(config: StatefulSessionFilterConfig): StreamFilterFactory {
  return () => new StatefulSessionFilter(config);
}
