/**
 * What a response tells the balancer besides its status, read from raw header bytes without
 * allocating (except the JSON load-report form) and without trapping on any input:
 *
 *  - `grpc-retry-pushback-ms` (gRFC A6): a decimal integer of ms; a negative value means "do not
 *    retry", which the balancer takes as the largest penalty.
 *  - `retry-after` (RFC 9110 §10.2.3): delta-seconds, or an HTTP-date in the IMF-fixdate form
 *    ("Sun, 06 Nov 1994 08:49:37 GMT"), the form senders must use; a date in the past is 0.
 *  - ORCA load reports (Envoy source/common/orca/orca_parser.cc): `endpoint-load-metrics` as
 *    "TEXT k=v, k=v" (also "k:v", and without the prefix) or "JSON {...}", and
 *    `endpoint-load-metrics-json`; the fields used are cpu_utilization, application_utilization,
 *    rps_fractional and eps (camelCase accepted in JSON). "BIN" reports are not decoded.
 */
import { JsonObject, JsonValue, parseJsonBytes } from "../../sdk/json";
import { orcaWeight } from "./estimator";

/** No value. */
// @ts-ignore: decorator
@inline export const ABSENT: f64 = -1;

/** `grpc-retry-pushback-ms` in ns: >= 0, `negativeNs` for a negative value, ABSENT when malformed. */
export function pushbackNs(ptr: usize, len: i32, negativeNs: f64): f64 {
  let i = skipSpaces(ptr, 0, len);
  let end = len;
  while (end > i && isSpace(load<u8>(ptr + <usize>(end - 1)))) end--;
  let negative = false;
  if (i < end && load<u8>(ptr + <usize>i) == 0x2d) { negative = true; i++; }
  if (i >= end || end - i > 15) return ABSENT;
  let v: f64 = 0;
  for (; i < end; i++) {
    const d = <i32>load<u8>(ptr + <usize>i) - 0x30;
    if (d < 0 || d > 9) return ABSENT;
    v = v * 10 + <f64>d;
  }
  return negative && v > 0 ? negativeNs : v * 1e6;
}

/** `retry-after` in ns from `nowNs` (wall clock): delta-seconds or IMF-fixdate; ABSENT when malformed. */
export function retryAfterNs(ptr: usize, len: i32, nowNs: u64): f64 {
  const i = skipSpaces(ptr, 0, len);
  let end = len;
  while (end > i && isSpace(load<u8>(ptr + <usize>(end - 1)))) end--;
  if (i >= end) return ABSENT;
  const first = load<u8>(ptr + <usize>i);
  if (first >= 0x30 && first <= 0x39) {
    if (end - i > 12) return ABSENT;
    let v: f64 = 0;
    for (let j = i; j < end; j++) {
      const d = <i32>load<u8>(ptr + <usize>j) - 0x30;
      if (d < 0 || d > 9) return ABSENT;
      v = v * 10 + <f64>d;
    }
    return v * 1e9;
  }
  const epochSeconds = imfFixdate(ptr + <usize>i, end - i);
  if (epochSeconds < 0) return ABSENT;
  const delta = epochSeconds * 1e9 - <f64>nowNs;
  return delta > 0 ? delta : 0;
}

const MONTHS = "JanFebMarAprMayJunJulAugSepOctNovDec";
const DAYS = "MonTueWedThuFriSatSun";

/** Seconds since the epoch of "Www, DD Mon YYYY HH:MM:SS GMT"; -1 when not that form. */
function imfFixdate(p: usize, len: i32): f64 {
  if (len != 29) return -1;
  if (load<u8>(p + 3) != 0x2c || load<u8>(p + 4) != 0x20 || load<u8>(p + 7) != 0x20 || load<u8>(p + 11) != 0x20 ||
      load<u8>(p + 16) != 0x20 || load<u8>(p + 19) != 0x3a || load<u8>(p + 22) != 0x3a || load<u8>(p + 25) != 0x20 ||
      load<u8>(p + 26) != 0x47 || load<u8>(p + 27) != 0x4d || load<u8>(p + 28) != 0x54) return -1;
  if (indexOf3(DAYS, p) < 0) return -1;
  const month = indexOf3(MONTHS, p + 8);
  const day = digits(p + 5, 2);
  const year = digits(p + 12, 4);
  const hour = digits(p + 17, 2);
  const minute = digits(p + 20, 2);
  const second = digits(p + 23, 2);
  if (month < 0 || day < 1 || day > 31 || year < 1970 || hour > 23 || minute > 59 || second > 60) return -1;
  return <f64>daysFromCivil(year, month + 1, day) * 86400 + <f64>(hour * 3600 + minute * 60 + second);
}

/** Days from 1970-01-01 to y-m-d (Howard Hinnant's `days_from_civil`). */
function daysFromCivil(y0: i32, m: i32, d: i32): i64 {
  const y = m <= 2 ? y0 - 1 : y0;
  const era = y / 400;
  const yoe = y - era * 400;
  const mp = m > 2 ? m - 3 : m + 9;
  const doy = (153 * mp + 2) / 5 + d - 1;
  const doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return <i64>era * 146097 + <i64>doe - 719468;
}

function indexOf3(table: string, p: usize): i32 {
  for (let i = 0, n = table.length / 3; i < n; i++) {
    if (<u32>table.charCodeAt(i * 3) == <u32>load<u8>(p) && <u32>table.charCodeAt(i * 3 + 1) == <u32>load<u8>(p + 1) &&
        <u32>table.charCodeAt(i * 3 + 2) == <u32>load<u8>(p + 2)) return i;
  }
  return -1;
}

function digits(p: usize, n: i32): i32 {
  let v = 0;
  for (let i = 0; i < n; i++) {
    const d = <i32>load<u8>(p + <usize>i) - 0x30;
    if (d < 0 || d > 9) return -1000000;
    v = v * 10 + d;
  }
  return v;
}

// ===== ORCA =====

/** The fields of one load report (NaN when absent). */
export class LoadReport {
  cpu: f64 = NaN;
  application: f64 = NaN;
  qps: f64 = NaN;
  eps: f64 = NaN;

  reset(): void { this.cpu = NaN; this.application = NaN; this.qps = NaN; this.eps = NaN; }

  /** The A58 weight of this report (0 when it carries nothing usable). */
  weight(errorUtilizationPenalty: f64): f64 {
    const util = this.application > 0 ? this.application : (this.cpu > 0 ? this.cpu : 0);
    return orcaWeight(this.qps > 0 ? this.qps : 0, util, this.eps > 0 ? this.eps : 0, errorUtilizationPenalty);
  }
}

/** Parses an `endpoint-load-metrics` value into `out`; false when it is not a TEXT or JSON report. */
export function parseLoadReport(value: ArrayBuffer, out: LoadReport): bool {
  out.reset();
  const p = changetype<usize>(value);
  const n = value.byteLength;
  const i = skipSpaces(p, 0, n);
  if (startsWith(p, i, n, "JSON ")) return parseLoadReportJson(value, i + 5, out);
  if (startsWith(p, i, n, "BIN ")) return false;
  return parseLoadReportText(p, startsWith(p, i, n, "TEXT ") ? i + 5 : i, n, out);
}

/** `endpoint-load-metrics-json` (or the body of a "JSON " report) from byte `start`. */
export function parseLoadReportJson(value: ArrayBuffer, start: i32, out: LoadReport): bool {
  const body = start == 0 ? value : value.slice(start);
  const parsed = parseJsonBytes(body, 4);
  const v = parsed.value;
  const o: JsonObject | null = v === null ? null : v.asObject();
  if (o === null) return false;
  out.cpu = numberField(o.get("cpu_utilization"), o.get("cpuUtilization"));
  out.application = numberField(o.get("application_utilization"), o.get("applicationUtilization"));
  out.qps = numberField(o.get("rps_fractional"), o.get("rpsFractional"));
  out.eps = numberField(o.get("eps"), null);
  return true;
}

function numberField(a: JsonValue | null, b: JsonValue | null): f64 {
  if (a !== null && a.isNumber()) return a.numberValue();
  if (b !== null && b.isNumber()) return b.numberValue();
  return NaN;
}

/** "k=v, k:v, ..." from `start`; unknown keys and malformed pairs are skipped. */
function parseLoadReportText(p: usize, start: i32, n: i32, out: LoadReport): bool {
  let i = start;
  let any = false;
  while (i < n) {
    i = skipSpaces(p, i, n);
    const keyStart = i;
    while (i < n && load<u8>(p + <usize>i) != 0x3d && load<u8>(p + <usize>i) != 0x3a && load<u8>(p + <usize>i) != 0x2c) i++;
    const keyEnd = i;
    if (i >= n || load<u8>(p + <usize>i) == 0x2c) { i++; continue; }
    i++;
    const valueStart = skipSpaces(p, i, n);
    i = valueStart;
    while (i < n && load<u8>(p + <usize>i) != 0x2c) i++;
    let valueEnd = i;
    while (valueEnd > valueStart && isSpace(load<u8>(p + <usize>(valueEnd - 1)))) valueEnd--;
    i++;
    const v = parseDecimal(p, valueStart, valueEnd);
    if (isNaN(v)) continue;
    if (keyIs(p, keyStart, keyEnd, "cpu_utilization")) { out.cpu = v; any = true; }
    else if (keyIs(p, keyStart, keyEnd, "application_utilization")) { out.application = v; any = true; }
    else if (keyIs(p, keyStart, keyEnd, "rps_fractional")) { out.qps = v; any = true; }
    else if (keyIs(p, keyStart, keyEnd, "eps")) { out.eps = v; any = true; }
  }
  return any;
}

/** A decimal number ("0.25", "1e3", "-2") of the bytes [start, end); NaN when malformed. */
export function parseDecimal(p: usize, start: i32, end: i32): f64 {
  let i = start;
  if (i >= end || end - i > 40) return NaN;
  let sign: f64 = 1;
  if (load<u8>(p + <usize>i) == 0x2d) { sign = -1; i++; } else if (load<u8>(p + <usize>i) == 0x2b) i++;
  let mantissa: f64 = 0;
  let scale: i32 = 0;
  let digitsSeen = 0;
  while (i < end && isDigit(load<u8>(p + <usize>i))) { mantissa = mantissa * 10 + <f64>(load<u8>(p + <usize>i) - 0x30); i++; digitsSeen++; }
  if (i < end && load<u8>(p + <usize>i) == 0x2e) {
    i++;
    while (i < end && isDigit(load<u8>(p + <usize>i))) { mantissa = mantissa * 10 + <f64>(load<u8>(p + <usize>i) - 0x30); scale--; i++; digitsSeen++; }
  }
  if (digitsSeen == 0) return NaN;
  if (i < end && (load<u8>(p + <usize>i) | 0x20) == 0x65) {
    i++;
    let expSign: i32 = 1;
    if (i < end && (load<u8>(p + <usize>i) == 0x2d || load<u8>(p + <usize>i) == 0x2b)) { if (load<u8>(p + <usize>i) == 0x2d) expSign = -1; i++; }
    let e: i32 = 0;
    let expDigits = 0;
    while (i < end && isDigit(load<u8>(p + <usize>i))) { if (e < 10000) e = e * 10 + <i32>(load<u8>(p + <usize>i) - 0x30); i++; expDigits++; }
    if (expDigits == 0) return NaN;
    scale += expSign * e;
  }
  if (i != end) return NaN;
  const v = sign * mantissa * Math.pow(10, <f64>scale);
  return isFinite(v) ? v : NaN;
}

function keyIs(p: usize, start: i32, end: i32, key: string): bool {
  let e = end;
  while (e > start && isSpace(load<u8>(p + <usize>(e - 1)))) e--;
  if (e - start != key.length) return false;
  for (let i = 0; i < key.length; i++) if (<u32>load<u8>(p + <usize>(start + i)) != <u32>key.charCodeAt(i)) return false;
  return true;
}

function startsWith(p: usize, i: i32, n: i32, prefix: string): bool {
  if (n - i < prefix.length) return false;
  for (let k = 0; k < prefix.length; k++) if (<u32>load<u8>(p + <usize>(i + k)) != <u32>prefix.charCodeAt(k)) return false;
  return true;
}

function skipSpaces(p: usize, i: i32, n: i32): i32 {
  while (i < n && isSpace(load<u8>(p + <usize>i))) i++;
  return i;
}

// @ts-ignore: decorator
@inline function isSpace(c: u8): bool { return c == 0x20 || c == 0x09; }
// @ts-ignore: decorator
@inline function isDigit(c: u8): bool { return c >= 0x30 && c <= 0x39; }
