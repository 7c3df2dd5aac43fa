/**
 * Method lookup by hash (README.md, "Methods"): which rules can apply to a method, found with at
 * most 2 + (package depth) hash-map lookups, never a scan over the rules.
 *
 * Patterns: `*` (every method), `/pkg.*` (every service whose full name starts with "pkg."),
 * `/pkg.Svc/*` (every method of a service), `/pkg.Svc/Method` (one method).
 *
 * At configure time every key any pattern names gets the complete, ordered list of the rules
 * that apply to a method falling under it:
 *  - an exact method "svc/m": its exact rules, its service's, every enclosing package's, and `*`;
 *  - a service "svc": its service rules, every enclosing package's, and `*`;
 *  - a package "a.b": its rules, those of "a", and `*`.
 * A request's method then takes the first list found among: its exact key, its service, its
 * packages from the longest to the shortest, and finally the `*` list. Lists keep policy order
 * and each rule once, split by action (DENY, ALLOW, AUDIT) for the evaluation.
 */
import { HeaderNames } from "./headers";

export const PATTERN_ANY: i32 = 0;
export const PATTERN_PACKAGE: i32 = 1;
export const PATTERN_SERVICE: i32 = 2;
export const PATTERN_EXACT: i32 = 3;

export class MethodPattern {
  constructor(public kind: i32, public service: string, public method: string) {}
}

function isIdentifier(s: string, start: i32, end: i32): bool {
  if (end <= start) return false;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    const letter = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x5f;
    if (!letter && !(i > start && c >= 0x30 && c <= 0x39)) return false;
  }
  return true;
}

function isDotted(s: string): bool {
  let start = 0;
  for (let i = 0; i <= s.length; i++) {
    if (i == s.length || s.charCodeAt(i) == 0x2e) {
      if (!isIdentifier(s, start, i)) return false;
      start = i + 1;
    }
  }
  return true;
}

/** As manager/src/policy/patterns.ts parseMethodPattern; null when malformed. */
export function parseMethodPattern(text: string): MethodPattern | null {
  if (text == "*") return new MethodPattern(PATTERN_ANY, "", "");
  if (text.length < 2 || text.charCodeAt(0) != 0x2f) return null;
  const body = text.substring(1);
  const slash = body.indexOf("/");
  if (slash < 0) {
    if (!body.endsWith(".*")) return null;
    const pkg = body.substring(0, body.length - 2);
    return isDotted(pkg) ? new MethodPattern(PATTERN_PACKAGE, pkg, "") : null;
  }
  const service = body.substring(0, slash);
  const method = body.substring(slash + 1);
  if (!isDotted(service)) return null;
  if (method == "*") return new MethodPattern(PATTERN_SERVICE, service, "");
  if (!isIdentifier(method, 0, method.length)) return null;
  return new MethodPattern(PATTERN_EXACT, service, method);
}

/** The rules that apply to one key, by action, each in policy order. */
export class RuleList {
  deny: StaticArray<i32> = new StaticArray<i32>(0);
  allow: StaticArray<i32> = new StaticArray<i32>(0);
  audit: StaticArray<i32> = new StaticArray<i32>(0);
}

export class MethodIndex {
  /**
   * Key -> index into `lists`, one map for the three kinds of key, which cannot collide: an exact
   * method "svc/m" (has a '/'), a service "svc", a package "a.b." (its name and a trailing '.').
   */
  private keys: Map<string, i32> = new Map<string, i32>();
  private lists: Array<RuleList> = [];
  private any: RuleList = new RuleList();
  private hasPackages: bool = false;
  /** The same keys as UTF-8 bytes, for `lookupBytes`. */
  private byteKeys: HeaderNames = new HeaderNames();

  /** `patterns[i]` are rule i's methods; `actions[i]` its action (0 ALLOW, 1 DENY, 2 AUDIT). */
  constructor(patterns: Array<Array<MethodPattern>>, actions: Array<i32>) {
    // Rule indices per key, before merging: key -> index into `raw`.
    const raw = new Array<Array<i32>>();
    const keys = new Map<string, i32>();
    const any = new Array<i32>();
    for (let r = 0; r < patterns.length; r++) {
      const list = patterns[r];
      for (let k = 0; k < list.length; k++) {
        const p = list[k];
        if (p.kind == PATTERN_ANY) { addTo(any, r); continue; }
        if (p.kind == PATTERN_PACKAGE) this.hasPackages = true;
        const key = p.kind == PATTERN_PACKAGE ? p.service + "." : p.kind == PATTERN_SERVICE ? p.service : p.service + "/" + p.method;
        addTo(listFor(raw, keys, key), r);
      }
    }
    this.any = split(any, actions);
    // Each key's list: its own rules, its service's (for a method), every enclosing package's, and `*`'s.
    const all = keys.keys();
    for (let i = 0; i < all.length; i++) {
      const key = all[i];
      const merged = raw[keys.get(key)].slice(0);
      const slash = key.indexOf("/");
      const service = slash >= 0 ? key.substring(0, slash) : key;
      if (slash >= 0 && keys.has(service)) mergeInto(merged, raw[keys.get(service)]);
      enclosing(merged, service, raw, keys);
      mergeInto(merged, any);
      this.lists.push(split(merged, actions));
      this.keys.set(key, this.lists.length - 1);
      this.byteKeys.add(key);
    }
  }

  /**
   * `lookup` on the UTF-8 bytes of a validated "service/method" (the :path after its "/") at
   * `ptr`, `len` bytes, the service being its first `serviceLen`: no string is built. Keys are
   * found in `byteKeys`, whose indices are those of `lists`.
   */
  lookupBytes(ptr: usize, len: usize, serviceLen: usize): RuleList {
    const keys = this.byteKeys;
    if (keys.size == 0) return this.any;
    let k = keys.find(ptr, len);
    if (k >= 0) return unchecked(this.lists[k]);
    k = keys.find(ptr, serviceLen);
    if (k >= 0) return unchecked(this.lists[k]);
    if (this.hasPackages) {
      // Enclosing packages, longest first: "a.b.Svc" -> "a.b.", "a.".
      for (let end = serviceLen; end > 1; end--) {
        if (load<u8>(ptr + end - 1) != 0x2e) continue;
        k = keys.find(ptr, end);
        if (k >= 0) return unchecked(this.lists[k]);
      }
    }
    return this.any;
  }

  /** The rules for `service`/`method`; `fullMethod` is "service/method" (the :path without "/"). */
  lookup(fullMethod: string, service: string): RuleList {
    const keys = this.keys;
    if (keys.size == 0) return this.any;
    if (keys.has(fullMethod)) return this.lists[keys.get(fullMethod)];
    if (keys.has(service)) return this.lists[keys.get(service)];
    if (this.hasPackages) {
      let end = service.lastIndexOf(".");
      while (end > 0) {
        const pkg = service.substring(0, end + 1);
        if (keys.has(pkg)) return this.lists[keys.get(pkg)];
        end = service.lastIndexOf(".", end - 1);
      }
    }
    return this.any;
  }
}

function listFor(raw: Array<Array<i32>>, map: Map<string, i32>, key: string): Array<i32> {
  if (!map.has(key)) {
    map.set(key, raw.length);
    raw.push(new Array<i32>());
  }
  return raw[map.get(key)];
}

function addTo(list: Array<i32>, r: i32): void {
  if (list.length == 0 || list[list.length - 1] != r) list.push(r);
}

/** Adds the rules of every package enclosing `name` ("a.b.Svc": keys "a.b.", then "a."). */
function enclosing(out: Array<i32>, name: string, raw: Array<Array<i32>>, keys: Map<string, i32>): void {
  let end = name.lastIndexOf(".");
  while (end > 0) {
    const pkg = name.substring(0, end + 1);
    if (keys.has(pkg)) mergeInto(out, raw[keys.get(pkg)]);
    end = name.lastIndexOf(".", end - 1);
  }
}

function mergeInto(out: Array<i32>, more: Array<i32>): void {
  for (let i = 0; i < more.length; i++) if (!out.includes(more[i])) out.push(more[i]);
}

function split(rules: Array<i32>, actions: Array<i32>): RuleList {
  const sorted = rules.slice(0);
  for (let i = 1; i < sorted.length; i++) { // insertion sort: lists are short
    const v = sorted[i];
    let j = i - 1;
    while (j >= 0 && sorted[j] > v) { sorted[j + 1] = sorted[j]; j--; }
    sorted[j + 1] = v;
  }
  let nd = 0, na = 0, nu = 0;
  for (let i = 0; i < sorted.length; i++) {
    const a = actions[sorted[i]];
    if (a == 1) nd++; else if (a == 0) na++; else nu++;
  }
  const out = new RuleList();
  out.deny = new StaticArray<i32>(nd);
  out.allow = new StaticArray<i32>(na);
  out.audit = new StaticArray<i32>(nu);
  nd = 0; na = 0; nu = 0;
  for (let i = 0; i < sorted.length; i++) {
    const r = sorted[i];
    const a = actions[r];
    if (a == 1) unchecked(out.deny[nd++] = r);
    else if (a == 0) unchecked(out.allow[na++] = r);
    else unchecked(out.audit[nu++] = r);
  }
  return out;
}
