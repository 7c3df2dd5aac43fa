/**
 * Test guest for filters/sdk/metrics.ts: exports thin wrappers over MetricFamily and the name
 * helpers so Node tests can drive them. Imports the metric functions of the proxy-wasm ABI and
 * `proxy_log` (abort handler); the test links them to the host's own MetricsRegistry.
 *
 * Families are numbered in creation order. Label values are set one by one into a per-family
 * value array (`setValue`), then `add` / `record` / `seriesId` use it.
 */
import "../../abi/abort";
import { allocate } from "../../abi/memory";
import { MetricType } from "../../abi/imports";
import { MetricFamily, sanitizeLabelValue, taggedMetricName, isValidLabelName, istioTagRegex } from "../../metrics";

let out: ArrayBuffer = new ArrayBuffer(0);
function setOut(s: string): void { out = String.UTF8.encode(s); }
function str(ptr: usize, len: usize): string { return String.UTF8.decodeUnsafe(ptr, len); }

export function alloc(size: usize): usize { return allocate(size); }
export function release(ptr: usize): void { __unpin(ptr); }
export function outPtr(): usize { return changetype<usize>(out); }
export function outLen(): usize { return <usize>out.byteLength; }
export function collect(): void { __collect(); }

const families = new Array<MetricFamily>();
const values = new Array<StaticArray<string>>();

/** labels: names separated by '\n' ("" = none). Returns the family's index. */
export function newFamily(type: u32, namePtr: usize, nameLen: usize, labelsPtr: usize, labelsLen: usize,
                          maxSeries: i32, boundedLabels: u32): i32 {
  const text = str(labelsPtr, labelsLen);
  const parts = text.length == 0 ? new Array<string>() : text.split("\n");
  const names = new StaticArray<string>(parts.length);
  for (let i = 0; i < parts.length; i++) names[i] = parts[i];
  families.push(new MetricFamily(<MetricType>type, str(namePtr, nameLen), names, maxSeries, "other", boundedLabels));
  const v = new StaticArray<string>(parts.length);
  for (let i = 0; i < parts.length; i++) v[i] = "";
  values.push(v);
  return families.length - 1;
}

export function setValue(family: i32, index: i32, ptr: usize, len: usize): void {
  values[family][index] = str(ptr, len);
}

export function seriesId(family: i32): u32 { return families[family].id(values[family]); }
export function add(family: i32, delta: i64): u32 { return <u32>families[family].add(values[family], delta); }
export function record(family: i32, value: i64): u32 { return <u32>families[family].record(values[family], value); }
export function size(family: i32): i32 { return families[family].size; }
export function overflowed(family: i32): u64 { return families[family].overflowed; }
export function defineFailures(family: i32): u32 { return families[family].defineFailures; }

/** `times` increments of the current series, nothing else (for the allocation test). */
export function addMany(family: i32, times: i32): void {
  const f = families[family];
  const v = values[family];
  for (let i = 0; i < times; i++) f.add(v, 1);
}

export function sanitize(ptr: usize, len: usize): void { setOut(sanitizeLabelValue(str(ptr, len))); }
/** 1 when sanitizing returns the very same string object (nothing to change). */
export function sanitizeIsIdentity(ptr: usize, len: usize): i32 {
  const s = str(ptr, len);
  return changetype<usize>(sanitizeLabelValue(s)) == changetype<usize>(s) ? 1 : 0;
}
export function validLabelName(ptr: usize, len: usize): i32 { return isValidLabelName(str(ptr, len)) ? 1 : 0; }
export function tagRegex(ptr: usize, len: usize): void { setOut(istioTagRegex(str(ptr, len))); }

/** out = the tagged name of family's base with its current values. */
export function nameOf(family: i32): void {
  const f = families[family];
  setOut(taggedMetricName(f.name, f.labelNames, values[family]));
}
