/**
 * Test filter for filters/sdk/context.ts and the metric hostcalls, run in the real host: streams
 * are `HttpContext<TypedRoot>` and reach the root's fields without casts; metrics are driven with
 * every integer type a filter holds. Per request (onRequestHeaders):
 *  - counter `ctx_typed_total` += u8 1, i32 2, u32 3, i64 4, u64 5, usize 6 (= 21 per request);
 *  - counter `ctx_clamped_total` += u64 0xFFFF_FFFF_FFFF_FFFF (clamped to I64.MAX_VALUE);
 *  - gauge `ctx_gauge` = u32 40, then += i32 -2 (38); gauge `ctx_negative` = i32 -5 (0);
 *  - histogram `ctx_hist` records u16 250;
 *  - the root counts streams in a plain field, reported in the `x-root-streams` request header.
 */
import { RootContext, HttpContext, HttpContextBase, registerRootContext } from "../../context";
import { FilterHeadersStatus, MapType, MetricType } from "../../abi/imports";
import { addHeaderMapValue, defineMetric, incrementMetric, recordMetric } from "../../hostcalls";
export * from "../../abi/exports";

class TypedRoot extends RootContext {
  streams: u32 = 0;
  typed: u32 = 0;
  clamped: u32 = 0;
  gauge: u32 = 0;
  negative: u32 = 0;
  hist: u32 = 0;

  onConfigure(configSize: u32): bool {
    this.typed = defineMetric(MetricType.Counter, "ctx_typed_total");
    this.clamped = defineMetric(MetricType.Counter, "ctx_clamped_total");
    this.gauge = defineMetric(MetricType.Gauge, "ctx_gauge");
    this.negative = defineMetric(MetricType.Gauge, "ctx_negative");
    this.hist = defineMetric(MetricType.Histogram, "ctx_hist");
    return true;
  }

  createHttpContext(contextId: u32): HttpContextBase | null { return new TypedStream(contextId, this); }
}

class TypedStream extends HttpContext<TypedRoot> {
  onRequestHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
    const r = this.root; // a TypedRoot: no cast
    r.streams++;
    incrementMetric(r.typed, <u8>1);
    incrementMetric(r.typed, <i32>2);
    incrementMetric(r.typed, <u32>3);
    incrementMetric(r.typed, <i64>4);
    incrementMetric(r.typed, <u64>5);
    incrementMetric(r.typed, <usize>6);
    incrementMetric(r.clamped, <u64>0xFFFF_FFFF_FFFF_FFFF);
    recordMetric(r.gauge, <u32>40);
    incrementMetric(r.gauge, <i32>-2);
    recordMetric(r.negative, <i32>-5);
    recordMetric(r.hist, <u16>250);
    addHeaderMapValue(MapType.RequestHeaders, "x-root-streams", r.streams.toString());
    return FilterHeadersStatus.Continue;
  }
}

registerRootContext((contextId: u32): RootContext => new TypedRoot(contextId));
