/**
 * IP addresses and CIDR ranges for `source_ips`: IPv4 dotted quads (no leading zeros) and IPv6
 * text (RFC 4291 §2.2: groups of 1-4 hex digits, one "::", an IPv4 tail; no zone), as bytes.
 * Versions never mix (an IPv4 range does not match an IPv4-mapped IPv6 address), as Envoy's
 * CidrRange::isInRange. Envoy's `source.address` is "ip:port" or "[ip6]:port".
 *
 * Same rules as manager/src/policy/patterns.ts (the reference evaluator's). Never traps.
 */

export class Cidr {
  constructor(public readonly bytes: StaticArray<u8>, public readonly prefix: i32) {}

  contains(ip: StaticArray<u8>): bool {
    const a = this.bytes;
    if (ip.length != a.length) return false;
    const full = this.prefix >> 3;
    for (let i = 0; i < full; i++) if (unchecked(ip[i]) != unchecked(a[i])) return false;
    const rest = this.prefix & 7;
    if (rest == 0) return true;
    const mask = <u8>(<u32>0xff << <u32>(8 - rest));
    return (unchecked(ip[full]) & mask) == (unchecked(a[full]) & mask);
  }
}

function isDigit(c: i32): bool { return c >= 0x30 && c <= 0x39; }

function hexValue(c: i32): i32 {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/** Dotted quad s[start, end) into out[at..at+4); false when not one. */
function parseV4Into(s: string, start: i32, end: i32, out: StaticArray<u8>, at: i32): bool {
  let part = 0;
  let i = start;
  while (part < 4) {
    const first = i;
    let v = 0;
    while (i < end && isDigit(s.charCodeAt(i))) {
      v = v * 10 + (s.charCodeAt(i) - 0x30);
      if (v > 255) return false;
      i++;
    }
    const digits = i - first;
    if (digits == 0 || digits > 3 || (digits > 1 && s.charCodeAt(first) == 0x30)) return false;
    unchecked(out[at + part] = <u8>v);
    part++;
    if (part < 4) {
      if (i >= end || s.charCodeAt(i) != 0x2e) return false;
      i++;
    }
  }
  return i == end;
}

export function parseIpv4(s: string, start: i32 = 0, end: i32 = -1): StaticArray<u8> | null {
  const e = end < 0 ? s.length : end;
  const out = new StaticArray<u8>(4);
  return parseV4Into(s, start, e, out, 0) ? out : null;
}

/** IPv6 text s[start, end) as 16 bytes, or null. */
export function parseIpv6(s: string, start: i32 = 0, end: i32 = -1): StaticArray<u8> | null {
  const e = end < 0 ? s.length : end;
  if (e <= start || e - start > 45) return null;
  const groups = new StaticArray<i32>(8);
  let count = 0;
  let gap = -1; // index in groups where "::" stands
  let i = start;
  if (s.charCodeAt(i) == 0x3a) {
    if (i + 1 >= e || s.charCodeAt(i + 1) != 0x3a) return null;
    gap = 0;
    i += 2;
    if (i == e) return new StaticArray<u8>(16);
  }
  while (i < e) {
    // An IPv4 tail: the rest has a '.' and no ':'.
    let dot = false;
    let colon = false;
    for (let j = i; j < e; j++) { const c = s.charCodeAt(j); if (c == 0x2e) dot = true; else if (c == 0x3a) { colon = true; break; } }
    if (dot && !colon) {
      if (count > 6) return null;
      const v4 = new StaticArray<u8>(4);
      if (!parseV4Into(s, i, e, v4, 0)) return null;
      unchecked(groups[count++] = (<i32>unchecked(v4[0]) << 8) | <i32>unchecked(v4[1]));
      unchecked(groups[count++] = (<i32>unchecked(v4[2]) << 8) | <i32>unchecked(v4[3]));
      i = e;
      break;
    }
    let v = 0;
    let digits = 0;
    while (i < e && digits < 5) {
      const h = hexValue(s.charCodeAt(i));
      if (h < 0) break;
      v = (v << 4) | h;
      digits++;
      i++;
    }
    if (digits == 0 || digits > 4 || count >= 8) return null;
    unchecked(groups[count++] = v);
    if (i == e) break;
    if (s.charCodeAt(i) != 0x3a) return null;
    i++;
    if (i < e && s.charCodeAt(i) == 0x3a) {
      if (gap >= 0) return null;
      gap = count;
      i++;
      if (i == e) break;
    } else if (i == e) {
      return null; // trailing single ':'
    }
  }
  if (gap < 0 && count != 8) return null;
  if (gap >= 0 && count > 7) return null;
  const out = new StaticArray<u8>(16);
  const tail = gap < 0 ? 0 : count - gap;
  for (let g = 0; g < count; g++) {
    const slot = gap >= 0 && g >= gap ? 8 - tail + (g - gap) : g;
    unchecked(out[slot * 2] = <u8>(unchecked(groups[g]) >> 8));
    unchecked(out[slot * 2 + 1] = <u8>(unchecked(groups[g]) & 0xff));
  }
  return out;
}

export function parseIp(s: string): StaticArray<u8> | null {
  for (let i = 0, n = s.length; i < n; i++) if (s.charCodeAt(i) == 0x3a) return parseIpv6(s);
  return parseIpv4(s);
}

/** "a.b.c.d/n", "x::/n", or a bare address; null when malformed or host bits are set. */
export function parseCidr(text: string): Cidr | null {
  const slash = text.indexOf("/");
  const ip = parseIp(slash < 0 ? text : text.substring(0, slash));
  if (ip === null) return null;
  const bits = ip.length * 8;
  let prefix = bits;
  if (slash >= 0) {
    const p = text.substring(slash + 1);
    if (p.length == 0 || p.length > 3) return null;
    prefix = 0;
    for (let i = 0; i < p.length; i++) {
      const c = p.charCodeAt(i);
      if (!isDigit(c) || (i == 0 && c == 0x30 && p.length > 1)) return null;
      prefix = prefix * 10 + (c - 0x30);
    }
    if (prefix > bits) return null;
  }
  for (let b = prefix; b < bits; b++) if (((<i32>unchecked(ip[b >> 3]) >> (7 - (b & 7))) & 1) != 0) return null;
  return new Cidr(ip, prefix);
}

/** The IP of Envoy's `source.address`, or null. */
export function parseSourceAddress(address: string): StaticArray<u8> | null {
  if (address.length > 0 && address.charCodeAt(0) == 0x5b) {
    const end = address.indexOf("]");
    return end >= 0 ? parseIpv6(address, 1, end) : null;
  }
  const colon = address.lastIndexOf(":");
  return parseIpv4(address, 0, colon < 0 ? address.length : colon);
}
