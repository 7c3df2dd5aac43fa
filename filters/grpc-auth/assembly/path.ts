/**
 * The request's `:path` checked in place, on its bytes as read (headers.ts): the
 * same grammar as the SDK's parseGrpcPath (filters/sdk/grpc.ts) — "/<service>/<method>", the
 * service one or more dot-separated non-empty names, the method a non-empty name without dots,
 * names of visible ASCII other than '/', '?', '#', '%' — so a path is accepted here exactly when
 * parseGrpcPath accepts its decoded string (any byte >= 0x7f is refused by both). Nothing is
 * allocated; the service and method strings are decoded only when a message, a log line or a
 * metric label needs them (`MethodPath.decode`).
 */
import { GrpcMethod } from "../../sdk/grpc";

/** Offset of the '/' between service and method in the `len` bytes at `ptr`, or -1 if malformed. */
export function grpcPathSlash(ptr: usize, len: usize): i32 {
  if (len < 4 || load<u8>(ptr) != 0x2f) return -1;
  let slash = -1;
  let prev: u32 = 0x2f; // a dot may not follow '/' or '.'
  for (let i: usize = 1; i < len; i++) {
    const c = <u32>load<u8>(ptr + i);
    if (c == 0x2f) {
      if (slash >= 0 || prev == 0x2f || prev == 0x2e) return -1;
      slash = <i32>i;
    } else if (c == 0x2e) {
      if (slash >= 0 || prev == 0x2f || prev == 0x2e) return -1;
    } else if (c <= 0x20 || c >= 0x7f || c == 0x3f || c == 0x23 || c == 0x25) {
      return -1;
    }
    prev = c;
  }
  if (slash < 0 || <usize>slash == len - 1) return -1;
  return slash;
}

/** One request's validated :path: where its bytes are, and its strings once decoded. */
export class MethodPath {
  ptr: usize = 0;
  len: usize = 0;
  slash: i32 = -1;
  private text: string | null = null;
  private parts: GrpcMethod | null = null;

  /** Checks the `len` bytes at `ptr` (read before the next host call); false when malformed. */
  set(ptr: usize, len: usize): bool {
    this.ptr = ptr;
    this.len = len;
    this.text = null;
    this.parts = null;
    this.slash = grpcPathSlash(ptr, len);
    return this.slash >= 0;
  }

  /** The path as a string ("/service/method"). */
  path(): string {
    let t = this.text;
    if (t === null) { t = String.UTF8.decodeUnsafe(this.ptr, this.len); this.text = t; }
    return t;
  }

  /** Service and method as strings. */
  decode(): GrpcMethod {
    let m = this.parts;
    if (m === null) {
      const p = this.path();
      m = new GrpcMethod(p.substring(1, this.slash), p.substring(this.slash + 1));
      this.parts = m;
    }
    return m;
  }
}
