/**
 * add-header per-stream logic: adds the configured request header in onRequestHeaders and the
 * configured response header in onResponseHeaders, counts each request, logs at debug. It never
 * pauses and never fails a stream: a header the host refuses to add is only logged.
 */
import { HttpContext, RootContext } from "../../../sdk/context";
import { FilterHeadersStatus, LogLevel, MapType, WasmResult } from "../../../sdk/abi/imports";
import { addHeaderMapValue, getLogLevel, incrementMetric, logDebug, logWarn } from "../../../sdk/hostcalls";
import { Config } from "./config";
import { Stats } from "./stats";

export class AddHeaderHttp extends HttpContext {
  constructor(contextId: u32, root: RootContext, private config: Config, private stats: Stats) {
    super(contextId, root);
  }

  onRequestHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
    incrementMetric(this.stats.requestsTotal, 1);
    const h = this.config.requestHeader;
    if (h !== null) {
      if (addHeaderMapValue(MapType.RequestHeaders, h.key, h.value) != WasmResult.Ok) logWarn("add-header: could not add request header " + h.key);
      else if (getLogLevel() <= LogLevel.Debug) logDebug("add-header: added request header " + h.key);
    }
    return FilterHeadersStatus.Continue;
  }

  onResponseHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
    const h = this.config.responseHeader;
    if (h !== null) {
      if (addHeaderMapValue(MapType.ResponseHeaders, h.key, h.value) != WasmResult.Ok) logWarn("add-header: could not add response header " + h.key);
      else if (getLogLevel() <= LogLevel.Debug) logDebug("add-header: added response header " + h.key);
    }
    return FilterHeadersStatus.Continue;
  }
}
