/**
 * Labelled metrics on proxy-wasm, which has no label API (proxy-wasm spec `proxy_define_metric`
 * takes a flat name; Envoy stores it as `wasmcustom.<name>`, source/extensions/common/wasm/context.cc).
 *
 * Labels are encoded in the name with Istio's convention (istio/proxy stats plugin, istio/istio
 * #40705): one `<label>=.=<value>;.;` segment per label, in the family's label order, then the
 * base name:
 *
 *     grpc_type=.=unary;.;grpc_service=.=pkg.v1.Svc;.;grpc_method=.=Get;.;grpc_server_started_total
 *
 * Envoy's `stats_tags` (Istio: `extraStatTags`, which renders `(<label>=\.=(.*?);\.;)`) remove each
 * segment and turn it into a tag, so `/stats/prometheus` shows
 * `grpc_server_started_total{grpc_type="unary",grpc_service="pkg.v1.Svc",grpc_method="Get"}`.
 *
 * Contract:
 *  - `MetricFamily` defines each distinct series once (the host keeps every id it hands out, so
 *    defining per request would leak) and caches its id in an open-addressing table keyed by the
 *    sanitized label values. A lookup of an existing series allocates nothing: values that need
 *    no sanitizing are used as they are, the hash is computed in place, keys compare with `==`.
 *  - A family holds at most `maxSeries` series. Past the bound a new combination is recorded under
 *    the overflow series: every label not marked bounded (`boundedLabels` bit i = label i takes
 *    values from a small fixed set) gets `overflowValue` (e.g. "other"); `overflowed` counts those
 *    recordings. Overflow series do not count against the bound.
 *  - `sanitizeLabelValue` keeps [A-Za-z0-9_.-/] and turns every other UTF-16 unit into '_' (so
 *    no value contains ';' or '=', and neither `;.;` nor `=.=` can appear inside a value), and
 *    truncates to `MAX_LABEL_VALUE_LENGTH`. Dots and slashes stay: a service's package ("pkg.v1")
 *    and a full method ("pkg.v1.Svc/Get") are what users expect to see, and cannot make the tag
 *    regexes ambiguous once ';' and '=' are gone.
 *  - Nothing here traps: a failed define returns id 0 and recording to id 0 is a no-op.
 */
import { MetricType, WasmResult } from "./abi/imports";
import { defineMetric, incrementMetric, recordMetric } from "./hostcalls";

/** Separates a label from its value inside a segment. */
export const TAG_ASSIGN = "=.=";
/** Ends a segment. */
export const TAG_END = ";.;";
/** Longest label value kept; longer values are cut (after sanitizing). */
// @ts-ignore: decorator
@inline export const MAX_LABEL_VALUE_LENGTH: i32 = 128;

// @ts-ignore: decorator
@inline function allowed(c: i32): bool {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) ||
    c == 0x5f || c == 0x2e || c == 0x2d || c == 0x2f; // _ . - /
}

/** `value` with every character outside [A-Za-z0-9_.-/] replaced by '_', cut to 128; `value` itself when clean. */
export function sanitizeLabelValue(value: string): string {
  const n = value.length;
  let clean = n <= MAX_LABEL_VALUE_LENGTH;
  for (let i = 0; clean && i < n; i++) if (!allowed(value.charCodeAt(i))) clean = false;
  if (clean) return value;
  const len = n < MAX_LABEL_VALUE_LENGTH ? n : MAX_LABEL_VALUE_LENGTH;
  const out = new StaticArray<u16>(len);
  for (let i = 0; i < len; i++) {
    const c = value.charCodeAt(i);
    unchecked(out[i] = allowed(c) ? <u16>c : <u16>0x5f);
  }
  return String.UTF16.decodeUnsafe(changetype<usize>(out), <usize>len << 1);
}

/** A label name: [a-zA-Z_][a-zA-Z0-9_]* (what Prometheus accepts and the tag regexes expect). */
export function isValidLabelName(name: string): bool {
  const n = name.length;
  if (n == 0) return false;
  for (let i = 0; i < n; i++) {
    const c = name.charCodeAt(i);
    const letter = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c == 0x5f;
    if (!letter && (i == 0 || c < 0x30 || c > 0x39)) return false;
  }
  return true;
}

/** The full metric name: `<name_i>=.=<value_i>;.;` for each label, then `base`. Values are used as given. */
export function taggedMetricName(base: string, names: StaticArray<string>, values: StaticArray<string>): string {
  let s = "";
  for (let i = 0, n = names.length; i < n; i++) s += unchecked(names[i]) + TAG_ASSIGN + unchecked(values[i]) + TAG_END;
  return s + base;
}

/** The `stats_tags` regex Istio generates for a label (extraStatTags): removes the segment, captures the value. */
export function istioTagRegex(label: string): string { return "(" + label + "=\\.=(.*?);\\.;)"; }

// FNV-1a over UTF-16 units, a 0xffff separator after each value (no label value contains it).
// @ts-ignore: decorator
@inline function mix(h: u32, v: string): u32 {
  for (let j = 0, m = v.length; j < m; j++) h = (h ^ <u32>v.charCodeAt(j)) * 0x01000193;
  return (h ^ 0xffff) * 0x01000193;
}

function hashValues(values: StaticArray<string>): u32 {
  let h: u32 = 0x811c9dc5;
  for (let i = 0, n = values.length; i < n; i++) h = mix(h, unchecked(values[i]));
  return h;
}

/** The same hash over `arity` values stored from `start` in a flat array. */
function hashStored(keys: Array<string>, start: i32, arity: i32): u32 {
  let h: u32 = 0x811c9dc5;
  for (let i = 0; i < arity; i++) h = mix(h, unchecked(keys[start + i]));
  return h;
}

// @ts-ignore: decorator
@lazy let refusedDefines: u32 = 0;

/** Series the host refused to define, over every MetricFamily of the module (for a one-time warning). */
export function refusedDefineCount(): u32 { return refusedDefines; }

function sameValues(keys: Array<string>, start: i32, values: StaticArray<string>): bool {
  for (let i = 0, n = values.length; i < n; i++) if (unchecked(keys[start + i]) != unchecked(values[i])) return false;
  return true;
}

/** One metric (a base name, a type, fixed label names) and its series. */
export class MetricFamily {
  /** Series defined so far, overflow series included. */
  size: i32 = 0;
  /** Recordings folded into an overflow series because the family was full. */
  overflowed: u64 = 0;
  /** Series the host refused to define (their recordings are dropped). */
  defineFailures: u32 = 0;

  private boundedSeries: i32 = 0;
  private slots: StaticArray<i32>;
  /** Label values of every series, `arity` per series, in one array (few objects for the GC to mark). */
  private keys: Array<string> = new Array<string>();
  private ids: Array<u32> = new Array<u32>();
  private scratch: StaticArray<string>;
  private overflowScratch: StaticArray<string>;

  /**
   * `labelNames` must be valid label names (see isValidLabelName); `maxSeries` bounds the
   * non-overflow series; `boundedLabels` bit i keeps label i's value on overflow.
   */
  constructor(public readonly type: MetricType, public readonly name: string,
              public readonly labelNames: StaticArray<string>, public readonly maxSeries: i32 = 1000,
              public readonly overflowValue: string = "other", public readonly boundedLabels: u32 = 0) {
    const slots = new StaticArray<i32>(16);
    for (let i = 0; i < 16; i++) unchecked(slots[i] = -1);
    const n = labelNames.length;
    const scratch = new StaticArray<string>(n);
    const over = new StaticArray<string>(n);
    for (let i = 0; i < n; i++) { unchecked(scratch[i] = ""); unchecked(over[i] = ""); }
    this.slots = slots;
    this.scratch = scratch;
    this.overflowScratch = over;
  }

  /** Number of labels. */
  get arity(): i32 { return this.labelNames.length; }

  /** True when the bound was reached: new label combinations go to the overflow series. */
  get full(): bool { return this.boundedSeries >= this.maxSeries; }

  /**
   * The id of the series for `values` (one per label, raw), defined on first use; 0 if the host
   * refused. `values` is not kept: callers may reuse one array for every call.
   */
  id(values: StaticArray<string>): u32 {
    const key = this.scratch;
    for (let i = 0, n = key.length; i < n; i++) unchecked(key[i] = sanitizeLabelValue(unchecked(values[i])));
    const found = this.find(key);
    if (found >= 0) return unchecked(this.ids[found]);
    if (!this.full) {
      this.boundedSeries++;
      return this.define(key);
    }
    const over = this.overflowScratch;
    for (let i = 0, n = key.length; i < n; i++) {
      unchecked(over[i] = (this.boundedLabels & (1 << <u32>i)) != 0 ? unchecked(key[i]) : this.overflowValue);
    }
    this.overflowed++;
    const o = this.find(over);
    return o >= 0 ? unchecked(this.ids[o]) : this.define(over);
  }

  /** Counter += delta (> 0), gauge += delta (any sign). */
  add(values: StaticArray<string>, delta: i64): WasmResult {
    const id = this.id(values);
    return id == 0 ? WasmResult.NotFound : incrementMetric(id, delta);
  }

  /** Counter += value, gauge = value, histogram: one sample. */
  record(values: StaticArray<string>, value: i64): WasmResult {
    const id = this.id(values);
    return id == 0 ? WasmResult.NotFound : recordMetric(id, value);
  }

  /** Index of `key` in ids (its values at index * arity in keys), or -1. */
  private find(key: StaticArray<string>): i32 {
    const mask = this.slots.length - 1;
    const arity = key.length;
    let i = <i32>(hashValues(key) & <u32>mask);
    while (true) {
      const e = unchecked(this.slots[i]);
      if (e < 0) return -1;
      if (sameValues(this.keys, e * arity, key)) return e;
      i = (i + 1) & mask;
    }
  }

  private define(key: StaticArray<string>): u32 {
    const id = defineMetric(this.type, taggedMetricName(this.name, this.labelNames, key));
    if (id == 0) { this.defineFailures++; refusedDefines++; }
    // Failed defines are cached too (id 0), so a refusing host is not asked again per request.
    const index = this.ids.length;
    for (let i = 0, n = key.length; i < n; i++) this.keys.push(unchecked(key[i]));
    this.ids.push(id);
    this.size++;
    if ((index + 1) * 2 > this.slots.length) this.grow();
    else this.insert(index);
    return id;
  }

  private insert(index: i32): void {
    const mask = this.slots.length - 1;
    const arity = this.labelNames.length;
    let i = <i32>(hashStored(this.keys, index * arity, arity) & <u32>mask);
    while (unchecked(this.slots[i]) >= 0) i = (i + 1) & mask;
    unchecked(this.slots[i] = index);
  }

  private grow(): void {
    const capacity = this.slots.length * 2;
    this.slots = new StaticArray<i32>(capacity);
    for (let i = 0; i < capacity; i++) unchecked(this.slots[i] = -1);
    for (let e = 0, n = this.ids.length; e < n; e++) this.insert(e);
  }
}
