/**
 * Test guest for filters/sdk/grpc.ts: exports thin wrappers over the gRPC helpers so the Node
 * tests can drive them. Inputs are written by the test into blocks from `alloc`; string results
 * are left in one output buffer read through `outPtr`/`outLen`. Imports only `env.proxy_log`
 * (through the SDK's abort handler).
 */
import "../../abi/abort";
import { allocate } from "../../abi/memory";
import { decodePairs } from "../../pairs";
import { parseGrpcPath, grpcStatusFromMaps, grpcStatusName, httpToGrpcStatus, grpcToHttpStatus, percentEncode,
         percentDecode, parseGrpcStatusValue, parseGrpcStatusChars, isGrpcContentType, GrpcFrameParser } from "../../grpc";

let out: ArrayBuffer = new ArrayBuffer(0);
function setOut(s: string): void { out = String.UTF8.encode(s); }

export function alloc(size: usize): usize { return allocate(size); }
export function release(ptr: usize): void { __unpin(ptr); }
export function outPtr(): usize { return changetype<usize>(out); }
export function outLen(): usize { return <usize>out.byteLength; }

function str(ptr: usize, len: usize): string { return String.UTF8.decodeUnsafe(ptr, len); }

/** 1 and out = "service\nmethod\npackage" when valid, else 0. */
export function parsePath(ptr: usize, len: usize): i32 {
  const m = parseGrpcPath(str(ptr, len));
  if (m === null) return 0;
  setOut(m.service + "\n" + m.method + "\n" + m.packageName());
  return 1;
}

let lastSource: i32 = 0;
let lastHasMessage: i32 = 0;
export function statusSource(): i32 { return lastSource; }
export function statusHasMessage(): i32 { return lastHasMessage; }

/** Status from pairs-encoded maps (hasTrailers 0 = no trailers); -100 when none; out = message. */
export function statusFromMaps(tPtr: usize, tLen: usize, hasTrailers: i32, hPtr: usize, hLen: usize): i32 {
  const t = hasTrailers != 0 ? decodePairs(tPtr, tLen) : null;
  const r = grpcStatusFromMaps(t, decodePairs(hPtr, hLen));
  if (r === null) { lastSource = 0; lastHasMessage = 0; setOut(""); return -100; }
  lastSource = r.source;
  const m = r.message;
  lastHasMessage = m !== null ? 1 : 0;
  setOut(m !== null ? m : "");
  return r.code;
}

/** parseGrpcStatusValue of the UTF-8 text at ptr (as an AssemblyScript string); hasValue 0 = null. */
export function statusValue(ptr: usize, len: usize, hasValue: i32): i32 {
  return parseGrpcStatusValue(hasValue != 0 ? str(ptr, len) : null);
}
/** The same parse straight from the bytes (what GrpcStreamStatus reads from the host). */
export function statusBytes(ptr: usize, len: usize): i32 { return parseGrpcStatusChars<u8>(ptr, len); }
export function grpcToHttp(code: i32): i32 { return grpcToHttpStatus(code); }

/** isGrpcContentType of the UTF-8 text at ptr. */
export function grpcContentType(ptr: usize, len: usize): i32 { return isGrpcContentType(str(ptr, len)) ? 1 : 0; }

export function statusName(code: i32): void { setOut(grpcStatusName(code)); }
export function httpToGrpc(code: i32): i32 { return httpToGrpcStatus(code); }
export function encodeMessage(ptr: usize, len: usize): void { setOut(percentEncode(str(ptr, len))); }
export function decodeMessage(ptr: usize, len: usize): void { setOut(percentDecode(str(ptr, len))); }

/** Records every message the parser reports. */
class RecordingParser extends GrpcFrameParser {
  starts: Array<u32> = [];
  lengths: Array<u32> = [];
  compressedFlags: Array<u8> = [];
  data: Array<ArrayBuffer | null> = [];
  onMessageStart(compressed: bool, length: u32): void { this.starts.push(length); }
  onMessage(compressed: bool, length: u32, data: ArrayBuffer | null): void {
    this.lengths.push(length); this.compressedFlags.push(compressed ? 1 : 0); this.data.push(data);
  }
}

let parser = new RecordingParser(0);
export function parserNew(maxCapture: u32): void { parser = new RecordingParser(maxCapture); }
export function parserFeed(ptr: usize, len: usize): void { parser.feed(ptr, len); }
export function parserMessages(): u64 { return parser.messages; }
export function parserCompressed(): u64 { return parser.compressedMessages; }
export function parserPayloadBytes(): u64 { return parser.payloadBytes; }
export function parserBytes(): u64 { return parser.bytes; }
export function parserError(): i32 { return parser.error ? 1 : 0; }
export function parserPartial(): i32 { return parser.partial ? 1 : 0; }
export function recordCount(): i32 { return parser.lengths.length; }
export function startCount(): i32 { return parser.starts.length; }
export function startLength(i: i32): u32 { return parser.starts[i]; }
export function recordLength(i: i32): u32 { return parser.lengths[i]; }
export function recordFlag(i: i32): u32 { return parser.compressedFlags[i]; }
/** 1 and out = the captured bytes, or 0 when the message was not captured. */
export function recordData(i: i32): i32 {
  const d = parser.data[i];
  if (d === null) return 0;
  out = d;
  return 1;
}
