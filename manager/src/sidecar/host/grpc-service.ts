/**
 * The `upstream` argument of proxy_grpc_call / proxy_grpc_stream, read as Envoy's
 * Context::grpcCall does: first `GrpcService::ParseFromString` (a serialized
 * envoy.config.core.v3.GrpcService), and only when that fails, a cluster name.
 *
 * The parser accepts exactly what protobuf's ParseFromString accepts for this message: well-formed
 * wire format (varints of at most 10 bytes, lengths inside the buffer, field number > 0, groups
 * closed by their own end tag), proto3 strings as valid UTF-8, known fields with another wire
 * type kept as unknown fields. So an empty string is an empty GrpcService (not a cluster name),
 * as in Envoy. Read fields: envoy_grpc (1) {cluster_name (1), authority (2)}, google_grpc (2)
 * presence, timeout (3) {seconds, nanos}, initial_metadata (5) {key (1), value (2), raw_value (3)}.
 */
import type { HeaderPair } from "../http/header-map.ts";

export interface GrpcServiceConfig {
  /** envoy_grpc was present. */
  envoyGrpc: boolean;
  clusterName: string;
  authority: string;
  googleGrpc: boolean;
  /** GrpcService.timeout in ms (Envoy's async client does not apply it; kept for callers). */
  timeoutMs?: number;
  initialMetadata: HeaderPair[];
}

class ParseError extends Error {}

const utf8 = new TextDecoder("utf-8", { fatal: true });

interface Field {
  no: number;
  wire: number;
  /** varint value (wire 0) */
  varint?: bigint;
  /** payload (wire 2) */
  bytes?: Uint8Array;
}

function readVarint(b: Uint8Array, pos: { i: number }): bigint {
  let v = 0n;
  for (let n = 0; n < 10; n++) {
    if (pos.i >= b.length) throw new ParseError("truncated varint");
    const byte = b[pos.i++]!;
    v |= BigInt(byte & 0x7f) << BigInt(7 * n);
    if ((byte & 0x80) === 0) return v;
  }
  throw new ParseError("varint too long");
}

/** Fields of one message; groups are validated and skipped. */
function fields(b: Uint8Array): Field[] {
  const out: Field[] = [];
  const pos = { i: 0 };
  const groups: number[] = [];
  while (pos.i < b.length) {
    const tag = readVarint(b, pos);
    const no = Number(tag >> 3n);
    const wire = Number(tag & 7n);
    if (no === 0 || tag >> 3n > 0x1fffffffn) throw new ParseError("bad field number");
    switch (wire) {
      case 0: {
        const varint = readVarint(b, pos);
        if (groups.length === 0) out.push({ no, wire, varint });
        break;
      }
      case 1:
      case 5: {
        const n = wire === 1 ? 8 : 4;
        if (pos.i + n > b.length) throw new ParseError("truncated fixed");
        pos.i += n;
        break;
      }
      case 2: {
        const len = readVarint(b, pos);
        if (len > BigInt(b.length - pos.i)) throw new ParseError("truncated bytes");
        const bytes = b.subarray(pos.i, pos.i + Number(len));
        pos.i += Number(len);
        if (groups.length === 0) out.push({ no, wire, bytes });
        break;
      }
      case 3:
        groups.push(no);
        break;
      case 4:
        if (groups.pop() !== no) throw new ParseError("unmatched end group");
        break;
      default:
        throw new ParseError("bad wire type");
    }
  }
  if (groups.length > 0) throw new ParseError("unterminated group");
  return out;
}

const str = (f: Field): string => utf8.decode(f.bytes!);

/** Parses a serialized GrpcService; undefined when protobuf would refuse it. */
export function parseGrpcService(data: Uint8Array): GrpcServiceConfig | undefined {
  try {
    const cfg: GrpcServiceConfig = { envoyGrpc: false, clusterName: "", authority: "", googleGrpc: false, initialMetadata: [] };
    for (const f of fields(data)) {
      if (f.wire !== 2 && f.no !== 3) continue;
      if (f.no === 1 && f.wire === 2) {
        cfg.envoyGrpc = true;
        for (const g of fields(f.bytes!)) {
          if (g.wire !== 2) continue;
          if (g.no === 1) cfg.clusterName = str(g);
          else if (g.no === 2) cfg.authority = str(g);
          else if (g.no === 3) fields(g.bytes!);
        }
      } else if (f.no === 2 && f.wire === 2) {
        cfg.googleGrpc = true;
        fields(f.bytes!);
      } else if (f.no === 3 && f.wire === 2) {
        let seconds = 0n;
        let nanos = 0n;
        for (const g of fields(f.bytes!)) {
          if (g.wire !== 0) continue;
          if (g.no === 1) seconds = BigInt.asIntN(64, g.varint!);
          else if (g.no === 2) nanos = BigInt.asIntN(32, g.varint!);
        }
        cfg.timeoutMs = Number(seconds) * 1000 + Math.floor(Number(nanos) / 1e6);
      } else if (f.no === 5 && f.wire === 2) {
        let key = "";
        let value = "";
        for (const g of fields(f.bytes!)) {
          if (g.wire !== 2) continue;
          if (g.no === 1) key = str(g);
          else if (g.no === 2) value = str(g);
          else if (g.no === 3) value = new TextDecoder().decode(g.bytes!);
        }
        cfg.initialMetadata.push([key.toLowerCase(), value]);
      } else if (f.wire === 2) {
        fields(f.bytes!);
      }
    }
    return cfg;
  } catch (e) {
    if (e instanceof ParseError || e instanceof TypeError) return undefined;
    throw e;
  }
}

/** Serializes {envoy_grpc {cluster_name, authority}, timeout, initial_metadata} (for tests and tools). */
export function encodeGrpcService(cfg: { clusterName: string; authority?: string; timeoutMs?: number; initialMetadata?: HeaderPair[] }): Uint8Array {
  const enc = new TextEncoder();
  const varint = (n: number): number[] => {
    const out: number[] = [];
    while (n > 0x7f) {
      out.push((n & 0x7f) | 0x80);
      n = Math.floor(n / 128);
    }
    out.push(n);
    return out;
  };
  const ld = (no: number, payload: Uint8Array | number[]): number[] => [...varint((no << 3) | 2), ...varint(payload.length), ...payload];
  const envoyGrpc = [...ld(1, enc.encode(cfg.clusterName)), ...(cfg.authority ? ld(2, enc.encode(cfg.authority)) : [])];
  const out = ld(1, envoyGrpc);
  if (cfg.timeoutMs !== undefined) {
    const secs = Math.floor(cfg.timeoutMs / 1000);
    const nanos = (cfg.timeoutMs % 1000) * 1e6;
    out.push(...ld(3, [...(secs ? [0x08, ...varint(secs)] : []), ...(nanos ? [0x10, ...varint(nanos)] : [])]));
  }
  for (const [k, v] of cfg.initialMetadata ?? []) out.push(...ld(5, [...ld(1, enc.encode(k)), ...ld(2, enc.encode(v))]));
  return new Uint8Array(out);
}
