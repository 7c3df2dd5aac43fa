/**
 * Endpoint addresses as Envoy's `Address::asString()` writes them and as the stateful-session
 * and override_host mechanisms read them: "a.b.c.d:port" (IPv4, four decimal octets 0..255 without
 * leading zeros) or "[v6]:port" (hex groups and colons, an optional embedded IPv4 tail), port
 * 1..65535 without leading zeros. The check runs on raw bytes and never traps; anything else is
 * refused, so a hostile `upstream.address` or discovery answer cannot put a malformed value into
 * a request header.
 */
import { ADDRESS_MAX } from "./table";

/** True when the `len` bytes at `ptr` are a canonical "ip:port" endpoint address. */
export function isEndpointAddress(ptr: usize, len: i32): bool {
  if (len < 6 || len > ADDRESS_MAX) return false; // "[::]:1" is the shortest
  let colon = -1;
  for (let i = len - 1; i >= 0; i--) {
    if (load<u8>(ptr + <usize>i) == 0x3a) { colon = i; break; }
  }
  if (colon <= 0 || !isPort(ptr + <usize>(colon + 1), len - colon - 1)) return false;
  if (load<u8>(ptr) == 0x5b) { // '['
    return colon >= 4 && load<u8>(ptr + <usize>(colon - 1)) == 0x5d && isIpv6(ptr + 1, colon - 2);
  }
  return isIpv4(ptr, colon);
}

/** A decimal port 1..65535 without a leading zero. */
function isPort(ptr: usize, len: i32): bool {
  if (len < 1 || len > 5 || load<u8>(ptr) == 0x30) return false;
  let v: i32 = 0;
  for (let i = 0; i < len; i++) {
    const d = <i32>load<u8>(ptr + <usize>i) - 0x30;
    if (d < 0 || d > 9) return false;
    v = v * 10 + d;
  }
  return v >= 1 && v <= 65535;
}

/** Four dotted decimal octets 0..255 ("0" allowed, no other leading zero). */
export function isIpv4(ptr: usize, len: i32): bool {
  let parts = 0;
  let digits = 0;
  let v: i32 = 0;
  let lead: bool = false;
  for (let i = 0; i <= len; i++) {
    const c: i32 = i == len ? 0x2e : <i32>load<u8>(ptr + <usize>i);
    if (c == 0x2e) {
      if (digits == 0 || v > 255 || (lead && digits > 1)) return false;
      parts++;
      digits = 0;
      v = 0;
      continue;
    }
    const d = c - 0x30;
    if (d < 0 || d > 9 || digits >= 3) return false;
    if (digits == 0) lead = d == 0;
    v = v * 10 + d;
    digits++;
  }
  return parts == 4;
}

/** An IPv6 text address: hex groups of 1..4 digits, at most one "::", an optional IPv4 tail. */
function isIpv6(ptr: usize, len: i32): bool {
  if (len < 2) return false;
  let groups = 0;
  let doubleColon: bool = false;
  let i = 0;
  if (load<u8>(ptr) == 0x3a) {
    if (load<u8>(ptr + 1) != 0x3a) return false;
    doubleColon = true;
    i = 2;
    if (i == len) return true; // "::"
  }
  while (i < len) {
    let j = i;
    while (j < len && isHex(load<u8>(ptr + <usize>j))) j++;
    if (j < len && load<u8>(ptr + <usize>j) == 0x2e) { // IPv4 tail: the rest
      if (!isIpv4(ptr + <usize>i, len - i)) return false;
      groups += 2;
      i = len;
      break;
    }
    const n = j - i;
    if (n < 1 || n > 4) return false;
    groups++;
    if (j == len) { i = len; break; }
    if (load<u8>(ptr + <usize>j) != 0x3a) return false;
    j++;
    if (j < len && load<u8>(ptr + <usize>j) == 0x3a) {
      if (doubleColon) return false;
      doubleColon = true;
      j++;
      if (j == len) { i = len; break; }
    } else if (j == len) return false; // trailing single ':'
    i = j;
  }
  return doubleColon ? groups < 8 : groups == 8;
}

function isHex(c: u8): bool {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}

/** The UTF-8 bytes of `s` when it is an endpoint address, else null. */
export function addressBytes(s: string): ArrayBuffer | null {
  const b = String.UTF8.encode(s);
  return isEndpointAddress(changetype<usize>(b), b.byteLength) ? b : null;
}
