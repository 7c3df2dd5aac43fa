/**
 * add-header per-stream logic: adds the configured request header in onRequestHeaders and the
 * configured response header in onResponseHeaders, counts each request, logs at debug. It never
 * pauses and never fails a stream: a header the host refuses to add is only logged. The stream's
 * root is typed (`HttpContext<AddHeaderRoot>`), so it reads the root's stats without a cast.
 */
import { HttpContext } from "../../../sdk/context";
import { FilterHeadersStatus, LogLevel, MapType, WasmResult } from "../../../sdk/abi/imports";
import { addHeaderMapValue, getLogLevel, incrementMetric, logDebug, logWarn } from "../../../sdk/hostcalls";
import { Config } from "./config";
import { AddHeaderRoot } from "./index";

export class AddHeaderHttp extends HttpContext<AddHeaderRoot> {
  /** The root's configuration, known to be set when the root creates streams. */
  constructor(contextId: u32, root: AddHeaderRoot, private config: Config) {
    super(contextId, root);
  }

  onRequestHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
    incrementMetric(this.root.stats.requestsTotal, 1);
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
