/**
 * Whether a rule's conditions hold for a request (README.md, "Rules"). Every condition a rule
 * lists must hold; within a list any entry may match. Checked from the cheapest: API key, user,
 * JWT provider and claims, peer principal, source IP, request headers. `matchRule` returns
 * MATCH or the first condition that failed (for the debug trace and `meshwasm policy explain`).
 *
 * Claims: the value at the path (objects walked by name); a string is one value — split on
 * spaces when it is a top-level claim the provider lists as space-delimited (`scope`) — an array
 * gives its string elements; anything else gives none. anyOf: one of the values is listed;
 * allOf: every listed value is among them.
 */
import { JsonObject, JsonValue } from "../../sdk/json";
import { VALID } from "./credentials";
import { RequestHeaders } from "./headers";
import { Identities } from "./identity";
import { names } from "./names";
import { ClaimCondition, Config, HeaderCondition, PrincipalPattern, Rule } from "./model";

export const MATCH: i32 = 0;
export const FAIL_API_KEY: i32 = 1;
export const FAIL_USER: i32 = 2;
export const FAIL_JWT: i32 = 3;
export const FAIL_CLAIM: i32 = 4;
export const FAIL_PRINCIPAL: i32 = 5;
export const FAIL_SOURCE_IP: i32 = 6;
export const FAIL_HEADER: i32 = 7;
/** What each result names in the trace, by MATCH / FAIL_* value. */
export const FAIL_NAMES: Array<string> = names(memory.data<u8>([ // "matched|API key|user|JWT|JWT claim|peer principal|source IP|request header"
  0x6d, 0x61, 0x74, 0x63, 0x68, 0x65, 0x64, 0x7c, 0x41, 0x50, 0x49, 0x20, 0x6b, 0x65, 0x79, 0x7c,
  0x75, 0x73, 0x65, 0x72, 0x7c, 0x4a, 0x57, 0x54, 0x7c, 0x4a, 0x57, 0x54, 0x20, 0x63, 0x6c, 0x61,
  0x69, 0x6d, 0x7c, 0x70, 0x65, 0x65, 0x72, 0x20, 0x70, 0x72, 0x69, 0x6e, 0x63, 0x69, 0x70, 0x61,
  0x6c, 0x7c, 0x73, 0x6f, 0x75, 0x72, 0x63, 0x65, 0x20, 0x49, 0x50, 0x7c, 0x72, 0x65, 0x71, 0x75,
  0x65, 0x73, 0x74, 0x20, 0x68, 0x65, 0x61, 0x64, 0x65, 0x72,
]), 74);

function listed(list: StaticArray<i32>, i: i32): bool {
  if (list.length == 0) return true; // "*": any valid one
  for (let k = 0; k < list.length; k++) if (unchecked(list[k]) == i) return true;
  return false;
}

/** The claim's values (see the module comment). */
export function claimValues(claims: JsonObject, path: StaticArray<string>, spaceDelimited: Array<string>): Array<string> {
  const out = new Array<string>();
  let v: JsonValue | null = null;
  let obj: JsonObject | null = claims;
  for (let i = 0; i < path.length; i++) {
    if (obj === null) return out;
    v = obj.get(unchecked(path[i]));
    if (v === null) return out;
    obj = v.asObject();
  }
  if (v === null) return out;
  const s = v.asString();
  if (s !== null) {
    if (path.length == 1 && spaceDelimited.includes(unchecked(path[0]))) {
      let start = 0;
      for (let i = 0; i <= s.length; i++) {
        if (i < s.length && s.charCodeAt(i) != 0x20) continue;
        if (i > start) out.push(s.substring(start, i));
        start = i + 1;
      }
    } else {
      out.push(s);
    }
    return out;
  }
  const items = v.asArray();
  if (items !== null) {
    for (let i = 0; i < items.length; i++) {
      const e = items[i].asString();
      if (e !== null) out.push(e);
    }
  }
  return out;
}

function claimHolds(c: ClaimCondition, values: Array<string>): bool {
  if (c.all) {
    for (let i = 0; i < c.values.length; i++) if (!values.includes(c.values[i])) return false;
    return true;
  }
  for (let i = 0; i < c.values.length; i++) if (values.includes(c.values[i])) return true;
  return false;
}

function principalHolds(patterns: Array<PrincipalPattern>, id: Identities): bool {
  if (id.peerUri() === null) return false;
  for (let i = 0; i < patterns.length; i++) {
    const p = patterns[i];
    if (p.any) return true;
    const spiffe = id.spiffe();
    if (spiffe === null) continue;
    const td = p.trustDomain, ns = p.namespace, sa = p.serviceAccount;
    if ((td === null || td == spiffe[0]) && (ns === null || ns == spiffe[1]) && (sa === null || sa == spiffe[2])) return true;
  }
  return false;
}

/** The `len` bytes at `ptr` start with `prefix`. */
function startsWith(ptr: usize, len: i32, prefix: ArrayBuffer): bool {
  const n = prefix.byteLength;
  return len >= n && memory.compare(ptr, changetype<usize>(prefix), <usize>n) == 0;
}

/** The `len` bytes at `ptr` are `b`. */
function sameBytes(ptr: usize, len: i32, b: ArrayBuffer): bool {
  return len == b.byteLength && memory.compare(ptr, changetype<usize>(b), <usize>len) == 0;
}

function headerHolds(c: HeaderCondition, h: RequestHeaders): bool {
  const present = h.count(c.nameIndex) > 0;
  if (c.presence >= 0) return present == (c.presence == 1);
  if (!present) return false;
  // The value as Envoy's RBAC header matcher reads it: every occurrence joined with "," (headers.ts).
  const v = h.ptr(c.nameIndex);
  const n = h.length(c.nameIndex);
  for (let i = 0; i < c.values.length; i++) if (sameBytes(v, n, c.values[i])) return true;
  for (let i = 0; i < c.prefixes.length; i++) if (startsWith(v, n, c.prefixes[i])) return true;
  return false;
}

/**
 * MATCH, or the first failed condition. With `assumeAbsent`, a condition on a credential the
 * request does not carry counts as met: MATCH then means "this rule would allow the call if the
 * missing credentials were presented (and fit)" — what makes a default denial UNAUTHENTICATED.
 */
export function matchRule(rule: Rule, config: Config, id: Identities, h: RequestHeaders, assumeAbsent: bool = false): i32 {
  const keys = rule.apiKeys;
  if (keys !== null && !(assumeAbsent && id.apiKey.state != VALID) &&
      (id.apiKey.state != VALID || !listed(keys, id.apiKey.index))) return FAIL_API_KEY;
  const users = rule.users;
  if (users !== null && !(assumeAbsent && id.user.state != VALID) &&
      (id.user.state != VALID || !listed(users, id.user.index))) return FAIL_USER;
  const jwt = rule.jwt;
  if (jwt !== null && !(assumeAbsent && id.jwtState != VALID)) {
    if (id.jwtState != VALID || !listed(jwt.providers, id.jwtProvider)) return FAIL_JWT;
    const claims = id.claims;
    const settings = config.jwt;
    if (jwt.claims.length > 0 && (claims === null || settings === null)) return FAIL_CLAIM;
    for (let i = 0; i < jwt.claims.length; i++) {
      const c = jwt.claims[i];
      const values = claimValues(claims!, c.path, settings!.providers[id.jwtProvider].spaceDelimited);
      if (!claimHolds(c, values)) return FAIL_CLAIM;
    }
  }
  const principals = rule.principals;
  if (principals !== null && !(assumeAbsent && id.peerUri() === null) && !principalHolds(principals, id)) return FAIL_PRINCIPAL;
  const cidrs = rule.sourceIps;
  if (cidrs !== null) {
    const ip = id.sourceIp();
    let inside: bool = false;
    for (let i = 0; ip !== null && i < cidrs.length && !inside; i++) inside = cidrs[i].contains(ip);
    if (!inside) return FAIL_SOURCE_IP;
  }
  for (let i = 0; i < rule.headers.length; i++) if (!headerHolds(rule.headers[i], h)) return FAIL_HEADER;
  return MATCH;
}
