/**
 * grpc-metrics' metrics (README.md lists them): the families of the configured schema, one
 * `LabelGroup` per distinct (grpc_service, grpc_method) label pair, and the series of a group per
 * side and RPC type (`RpcSeries`), whose ids are resolved once through the SDK's MetricFamily
 * (filters/sdk/metrics.ts) and then used directly: starting and finishing an RPC costs one host
 * call per non-zero update and no lookup.
 *
 * Schemas:
 *  - grpc (go-grpc-prometheus / go-grpc-middleware providers/prometheus names): started, handled
 *    by code, handling time (ms histogram), messages and message bytes each way, in-flight gauge.
 *  - otel (gRFC A66 names in their Prometheus form): call/attempt started, duration histograms
 *    and the per-RPC compressed-size histograms, by full method and status.
 * Each family is bounded (MetricFamily maxSeries) as a second line of defence behind the method
 * table's own bound; grpc_type, grpc_code and grpc_status are bounded labels.
 */
import { MetricType } from "../../sdk/abi/imports";
import { defineMetric, incrementMetric, recordMetric, logWarn } from "../../sdk/hostcalls";
import { MetricFamily, refusedDefineCount } from "../../sdk/metrics";
import { grpcStatusName } from "../../sdk/grpc";
import { Schema, RPC_TYPE_NAMES } from "./config";

export const SIDE_SERVER: i32 = 0;
export const SIDE_CLIENT: i32 = 1;
const SIDE_NAMES: Array<string> = ["server", "client"];

// @ts-ignore: decorator
@lazy const goNames: StaticArray<string | null> = new StaticArray<string | null>(17);

/**
 * grpc-go's codes.Code.String() name of a code (grpc-ecosystem's grpc_code values): the canonical
 * name in CamelCase ("PERMISSION_DENIED" -> "PermissionDenied"), with Go's spelling "Canceled".
 * Built once per code from the SDK's canonical names rather than kept as a second table of 17
 * strings (module size); every series of a code shares the one string.
 */
export function goCodeName(code: i32): string {
  const known = unchecked(goNames[code]);
  if (known !== null) return known;
  let out = "";
  if (code == 0) out = "OK";
  else if (code == 1) out = "Canceled";
  else {
    const canonical = grpcStatusName(code);
    let upper = true;
    for (let i = 0, n = canonical.length; i < n; i++) {
      const c = canonical.charCodeAt(i);
      if (c == 0x5f) { upper = true; continue; }
      out += String.fromCharCode(upper || c < 0x41 || c > 0x5a ? c : c + 32);
      upper = false;
    }
  }
  unchecked(goNames[code] = out);
  return out;
}

/** Distinct grpc_target values (otel client) kept before the rest become "other". */
const MAX_TARGETS: i32 = 100;

/** The label values of a set of series: a tracked method, "<service>/other", other/other or unknown/unknown. */
export class LabelGroup {
  /** UTF-8 of the values, for the filter state. */
  readonly serviceBytes: ArrayBuffer;
  readonly methodBytes: ArrayBuffer;
  private full: string | null = null;
  /** grpc schema: series per side and type (side * 4 + type); otel: per side (index = side). */
  readonly series: StaticArray<RpcSeries | null> = new StaticArray<RpcSeries | null>(8);
  /** otel client series, by grpc_target (a few per method: a linear list). */
  targetNames: Array<string> | null = null;
  targetSeries: Array<RpcSeries> | null = null;

  constructor(public readonly service: string, public readonly method: string, private readonly tracked: bool) {
    this.serviceBytes = String.UTF8.encode(service);
    this.methodBytes = String.UTF8.encode(method);
  }

  /** A66's grpc.method: "<service>/<method>" for a tracked method, else the method label ("other", "unknown"). */
  get fullMethod(): string {
    const known = this.full;
    if (known !== null) return known;
    const f = this.tracked ? this.service + "/" + this.method : this.method;
    this.full = f;
    return f;
  }
}

/** The series one RPC updates. */
export abstract class RpcSeries {
  /** The RPC started. */
  abstract start(): void;
  /**
   * The RPC finished with `code` (0..16) after `ms` milliseconds; messages and payload bytes as
   * this side sees them (received / sent).
   */
  abstract finish(code: i32, ms: u64, received: u64, sent: u64, receivedBytes: u64, sentBytes: u64): void;
}

// @ts-ignore: decorator
@inline function add(id: u32, delta: u64): void { if (id != 0 && delta != 0) incrementMetric(id, delta); }

class GrpcFamilies {
  started: MetricFamily; handled: MetricFamily; handling: MetricFamily; received: MetricFamily;
  sent: MetricFamily; receivedBytes: MetricFamily; sentBytes: MetricFamily; inFlight: MetricFamily;

  constructor(side: string, maxSeries: i32) {
    const p = "grpc_" + side + "_";
    const labels: StaticArray<string> = ["grpc_type", "grpc_service", "grpc_method"];
    const withCode: StaticArray<string> = ["grpc_type", "grpc_service", "grpc_method", "grpc_code"];
    this.started = new MetricFamily(MetricType.Counter, p + "started_total", labels, maxSeries, "other", 0b1);
    this.handled = new MetricFamily(MetricType.Counter, p + "handled_total", withCode, maxSeries * 17, "other", 0b1001);
    this.handling = new MetricFamily(MetricType.Histogram, p + "handling_milliseconds", labels, maxSeries, "other", 0b1);
    this.received = new MetricFamily(MetricType.Counter, p + "msg_received_total", labels, maxSeries, "other", 0b1);
    this.sent = new MetricFamily(MetricType.Counter, p + "msg_sent_total", labels, maxSeries, "other", 0b1);
    this.receivedBytes = new MetricFamily(MetricType.Counter, p + "msg_received_bytes_total", labels, maxSeries, "other", 0b1);
    this.sentBytes = new MetricFamily(MetricType.Counter, p + "msg_sent_bytes_total", labels, maxSeries, "other", 0b1);
    this.inFlight = new MetricFamily(MetricType.Gauge, p + "in_flight", labels, maxSeries, "other", 0b1);
  }
}

class GrpcSeries extends RpcSeries {
  private started: u32; private handling: u32; private received: u32; private sent: u32;
  private receivedBytes: u32; private sentBytes: u32; private inFlight: u32;
  private handled: StaticArray<u32> = new StaticArray<u32>(17);

  constructor(private families: GrpcFamilies, private group: LabelGroup, private type: i32) {
    super();
    const labels: StaticArray<string> = [unchecked(RPC_TYPE_NAMES[type]), group.service, group.method];
    this.started = families.started.id(labels);
    this.handling = families.handling.id(labels);
    this.received = families.received.id(labels);
    this.sent = families.sent.id(labels);
    this.receivedBytes = families.receivedBytes.id(labels);
    this.sentBytes = families.sentBytes.id(labels);
    this.inFlight = families.inFlight.id(labels);
  }

  start(): void {
    add(this.started, 1);
    if (this.inFlight != 0) incrementMetric(this.inFlight, 1);
  }

  finish(code: i32, ms: u64, received: u64, sent: u64, receivedBytes: u64, sentBytes: u64): void {
    let h = unchecked(this.handled[code]);
    if (h == 0) {
      const g = this.group;
      const withCode: StaticArray<string> = [unchecked(RPC_TYPE_NAMES[this.type]), g.service, g.method, goCodeName(code)];
      h = this.families.handled.id(withCode);
      unchecked(this.handled[code] = h);
    }
    add(h, 1);
    if (this.inFlight != 0) incrementMetric(this.inFlight, -1);
    if (this.handling != 0) recordMetric(this.handling, ms);
    add(this.received, received);
    add(this.sent, sent);
    add(this.receivedBytes, receivedBytes);
    add(this.sentBytes, sentBytes);
  }
}

class OtelFamilies {
  started: MetricFamily; duration: MetricFamily; sentSize: MetricFamily; rcvdSize: MetricFamily;
  callDuration: MetricFamily | null = null;

  constructor(side: i32, maxSeries: i32) {
    const client = side == SIDE_CLIENT;
    const p = client ? "grpc_client_attempt_" : "grpc_server_call_";
    const labels: StaticArray<string> = client ? ["grpc_method", "grpc_target"] : ["grpc_method"];
    const withStatus: StaticArray<string> = client ? ["grpc_method", "grpc_target", "grpc_status"] : ["grpc_method", "grpc_status"];
    const statusBit: u32 = client ? 0b100 : 0b10;
    this.started = new MetricFamily(MetricType.Counter, p + "started_total", labels, maxSeries, "other", 0);
    this.duration = new MetricFamily(MetricType.Histogram, p + "duration_milliseconds", withStatus, maxSeries * 17, "other", statusBit);
    this.sentSize = new MetricFamily(MetricType.Histogram, p + "sent_total_compressed_message_size_bytes", withStatus, maxSeries * 17, "other", statusBit);
    this.rcvdSize = new MetricFamily(MetricType.Histogram, p + "rcvd_total_compressed_message_size_bytes", withStatus, maxSeries * 17, "other", statusBit);
    if (client) {
      this.callDuration = new MetricFamily(MetricType.Histogram, "grpc_client_call_duration_milliseconds", withStatus, maxSeries * 17, "other", statusBit);
    }
  }
}

class OtelSeries extends RpcSeries {
  private started: u32;
  private byCode: StaticArray<u32> = new StaticArray<u32>(17 * 4);
  private defined: StaticArray<bool> = new StaticArray<bool>(17);

  /** labels: [grpc_method] or [grpc_method, grpc_target]. */
  constructor(private families: OtelFamilies, private labels: StaticArray<string>) {
    super();
    this.started = families.started.id(labels);
  }

  start(): void { add(this.started, 1); }

  finish(code: i32, ms: u64, received: u64, sent: u64, receivedBytes: u64, sentBytes: u64): void {
    const base = code * 4;
    if (!unchecked(this.defined[code])) {
      const l = this.labels;
      const status = grpcStatusName(code); // canonical names, gRFC A66's grpc.status values
      const withStatus: StaticArray<string> = l.length == 1 ? [l[0], status] : [l[0], l[1], status];
      const f = this.families;
      unchecked(this.byCode[base] = f.duration.id(withStatus));
      unchecked(this.byCode[base + 1] = f.sentSize.id(withStatus));
      unchecked(this.byCode[base + 2] = f.rcvdSize.id(withStatus));
      const call = f.callDuration;
      if (call !== null) unchecked(this.byCode[base + 3] = call.id(withStatus));
      unchecked(this.defined[code] = true);
    }
    for (let i = 0; i < 4; i++) {
      const id = unchecked(this.byCode[base + i]);
      if (id == 0) continue;
      recordMetric(id, i == 1 ? sentBytes : i == 2 ? receivedBytes : ms);
    }
  }
}

export class Stats {
  private grpc: StaticArray<GrpcFamilies | null> = new StaticArray<GrpcFamilies | null>(2);
  private otel: StaticArray<OtelFamilies | null> = new StaticArray<OtelFamilies | null>(2);
  private knownTargets: Map<string, i32> = new Map<string, i32>();
  private warned: bool = false;
  /** grpc_metrics_<side>_other_rpcs_total. */
  readonly otherRpcs: StaticArray<u32> = new StaticArray<u32>(2);
  /** grpc_metrics_frame_errors_total. */
  readonly frameErrors: u32;

  /** `maxGroups` bounds the label groups the method table can create (for the families' own bound). */
  constructor(public readonly schema: Schema, maxGroups: i32) {
    const maxSeries = maxGroups * 4;
    for (let side = 0; side < 2; side++) {
      if (schema == Schema.Grpc) unchecked(this.grpc[side] = new GrpcFamilies(unchecked(SIDE_NAMES[side]), maxSeries));
      else unchecked(this.otel[side] = new OtelFamilies(side, maxSeries * MAX_TARGETS));
      unchecked(this.otherRpcs[side] = defineMetric(MetricType.Counter, "grpc_metrics_" + unchecked(SIDE_NAMES[side]) + "_other_rpcs_total"));
    }
    this.frameErrors = defineMetric(MetricType.Counter, "grpc_metrics_frame_errors_total");
    if (this.frameErrors == 0 || unchecked(this.otherRpcs[0]) == 0 || unchecked(this.otherRpcs[1]) == 0) this.warnRefused();
  }

  /** Whether the schema needs the request's :authority (otel client series). */
  needsTarget(side: i32): bool { return this.schema == Schema.Otel && side == SIDE_CLIENT; }

  /** The series of `group` for an RPC on `side` of `type` (and `target` for otel clients). */
  series(group: LabelGroup, side: i32, type: i32, target: string): RpcSeries {
    if (this.schema == Schema.Grpc) {
      const slot = side * 4 + type;
      let s = unchecked(group.series[slot]);
      if (s === null) {
        s = new GrpcSeries(changetype<GrpcFamilies>(unchecked(this.grpc[side])), group, type);
        unchecked(group.series[slot] = s);
        this.checkDefines();
      }
      return s;
    }
    const families = changetype<OtelFamilies>(unchecked(this.otel[side]));
    if (side == SIDE_SERVER) {
      let s = unchecked(group.series[0]);
      if (s === null) {
        s = new OtelSeries(families, [group.fullMethod]);
        unchecked(group.series[0] = s);
        this.checkDefines();
      }
      return s;
    }
    let names = group.targetNames;
    let list = group.targetSeries;
    if (names === null || list === null) {
      names = new Array<string>();
      list = new Array<RpcSeries>();
      group.targetNames = names;
      group.targetSeries = list;
    }
    for (let i = 0, n = names.length; i < n; i++) if (unchecked(names[i]) == target) return unchecked(list[i]);
    const t = this.boundedTarget(target);
    for (let i = 0, n = names.length; i < n; i++) if (unchecked(names[i]) == t) return unchecked(list[i]);
    const s = new OtelSeries(families, [group.fullMethod, t]);
    names.push(t);
    list.push(s);
    this.checkDefines();
    return s;
  }

  /** `target` while fewer than MAX_TARGETS distinct targets were seen (or it is one of them), else "other". */
  private boundedTarget(target: string): string {
    const known = this.knownTargets;
    if (known.has(target)) return target;
    if (known.size >= MAX_TARGETS) return "other";
    known.set(target, 0);
    return target;
  }

  /** Logs once if the host refused to define a metric (its recordings are dropped). */
  private checkDefines(): void {
    if (refusedDefineCount() > 0) this.warnRefused();
  }

  private warnRefused(): void {
    if (this.warned) return;
    this.warned = true;
    logWarn("grpc-metrics: the host refused to define a metric; its values are dropped");
  }
}
