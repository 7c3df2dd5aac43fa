/**
 * The final status of an RPC: reading it as it passes the filter (`GrpcStreamStatus`) and ending
 * an RPC with one (`sendGrpcError`).
 *
 * `GrpcStreamStatus` resolves the code in Envoy's order (Grpc::Common::getGrpcStatus(trailers,
 * headers, info), the one behind `response.grpc_status` and %GRPC_STATUS%): the trailers'
 * grpc-status, else the response headers' (a trailers-only response), else the HTTP `:status`
 * mapped by Grpc::Utility::httpToGrpcStatus. grpc-status values are parsed with Envoy's
 * absl::SimpleAtoi rules (`parseGrpcStatusChars`); an unparsable or > 16 value is InvalidCode (-1).
 *
 * Why a tracker: Envoy lets a filter read the response headers only while onResponseHeaders runs
 * (and until it continues a paused stream); after that the map is gone (BadArgument / NotFound).
 * So the few values the end of the stream needs are read there, with pre-encoded keys and no
 * header-map copy: `:status`, and `grpc-status` / `grpc-message` when present. The message stays
 * raw bytes until `message` is read. In `onLog` Envoy exposes the logged maps again; `onLog()`
 * reads whatever the callbacks did not see (a stream that ended before response headers reached
 * this filter).
 *
 * Use:
 *
 *     status: GrpcStreamStatus = new GrpcStreamStatus();
 *     onResponseHeaders(n: u32, eos: bool): FilterHeadersStatus { this.status.onResponseHeaders(eos); … }
 *     onResponseTrailers(n: u32): FilterTrailersStatus { this.status.onResponseTrailers(); … }
 *     onLog(): void { this.status.onLog(); count(this.status.code); }
 */
import { MapType, WasmResult } from "./abi/imports";
import { getHeaderMapValueBytes, sendLocalResponse, Headers } from "./hostcalls";
import { GRPC_STATUS_ABSENT, GrpcStatusSource, httpToGrpcStatus, grpcToHttpStatus, parseGrpcStatusChars,
         percentDecode } from "./grpc";

// @ts-ignore: decorator
@lazy const KEY_STATUS: ArrayBuffer = String.UTF8.encode(":status");
// @ts-ignore: decorator
@lazy const KEY_GRPC_STATUS: ArrayBuffer = String.UTF8.encode("grpc-status");
// @ts-ignore: decorator
@lazy const KEY_GRPC_MESSAGE: ArrayBuffer = String.UTF8.encode("grpc-message");

/** A `:status` value: three ASCII digits 100..999, else 0 (as Envoy's Utility::getResponseStatus). */
function parseHttpStatus(b: ArrayBuffer | null): i32 {
  if (b === null || b.byteLength != 3) return 0;
  const p = changetype<usize>(b);
  let v: u32 = 0;
  for (let i: usize = 0; i < 3; i++) {
    const d = <u32>load<u8>(p + i) - 0x30;
    if (d > 9) return 0;
    v = v * 10 + d;
  }
  return v >= 100 ? <i32>v : 0;
}

function statusOf(b: ArrayBuffer | null): i32 {
  return b === null ? GRPC_STATUS_ABSENT : parseGrpcStatusChars<u8>(changetype<usize>(b), <usize>b.byteLength);
}

/** Tracks one stream's final gRPC status; see the module comment. One per HttpContext. */
export class GrpcStreamStatus {
  /** The response `:status` (0 until response headers were seen, or if it was not a number). */
  httpStatus: i32 = 0;
  /** Response headers were seen (callback or onLog). */
  headersSeen: bool = false;
  /** Response trailers were seen (callback or onLog). */
  trailersSeen: bool = false;
  private headerCode: i32 = GRPC_STATUS_ABSENT;
  private trailerCode: i32 = GRPC_STATUS_ABSENT;
  private headerMessage: ArrayBuffer | null = null;
  private trailerMessage: ArrayBuffer | null = null;

  /** Call from `onResponseHeaders` (the only time Envoy exposes the response headers). */
  onResponseHeaders(endOfStream: bool): void { this.readHeaders(MapType.ResponseHeaders); }

  /** Call from `onResponseTrailers`. */
  onResponseTrailers(): void { this.readTrailers(MapType.ResponseTrailers); }

  /**
   * Call from `onLog`: reads the logged response headers / trailers that the callbacks did not
   * see (e.g. the stream ended before the response reached this filter). Cheap when they did.
   */
  onLog(): void {
    if (!this.headersSeen) this.readHeaders(MapType.ResponseHeaders);
    if (!this.trailersSeen) this.readTrailers(MapType.ResponseTrailers);
  }

  /**
   * The RPC's status code, in Envoy's order: 0..16, GRPC_STATUS_INVALID (-1) for a grpc-status
   * Envoy cannot parse, GRPC_STATUS_ABSENT (-2) while there is neither a grpc-status nor a
   * `:status` (no response, or a reset before one).
   */
  get code(): i32 {
    if (this.trailerCode != GRPC_STATUS_ABSENT) return this.trailerCode;
    if (this.headerCode != GRPC_STATUS_ABSENT) return this.headerCode;
    return this.httpStatus > 0 ? httpToGrpcStatus(this.httpStatus) : GRPC_STATUS_ABSENT;
  }

  /** Where `code` comes from (None while it is GRPC_STATUS_ABSENT). */
  get source(): GrpcStatusSource {
    if (this.trailerCode != GRPC_STATUS_ABSENT) return GrpcStatusSource.Trailers;
    if (this.headerCode != GRPC_STATUS_ABSENT) return GrpcStatusSource.Headers;
    return this.httpStatus > 0 ? GrpcStatusSource.HttpStatus : GrpcStatusSource.None;
  }

  /** True when the status is known (`code` is not GRPC_STATUS_ABSENT). */
  get resolved(): bool { return this.source != GrpcStatusSource.None; }

  /**
   * The percent-decoded grpc-message of the map the status came from, or null (none, or the
   * status came from the HTTP code). Decoded on each read; keep the result if you read it twice.
   */
  get message(): string | null {
    let raw: ArrayBuffer | null = null;
    const src = this.source;
    if (src == GrpcStatusSource.Trailers) raw = this.trailerMessage;
    else if (src == GrpcStatusSource.Headers) raw = this.headerMessage;
    return raw === null ? null : percentDecode(String.UTF8.decode(raw));
  }

  private readHeaders(map: MapType): void {
    this.headersSeen = true;
    this.httpStatus = parseHttpStatus(getHeaderMapValueBytes(map, KEY_STATUS));
    this.headerCode = statusOf(getHeaderMapValueBytes(map, KEY_GRPC_STATUS));
    this.headerMessage = this.headerCode == GRPC_STATUS_ABSENT ? null : getHeaderMapValueBytes(map, KEY_GRPC_MESSAGE);
  }

  private readTrailers(map: MapType): void {
    this.trailersSeen = true;
    this.trailerCode = statusOf(getHeaderMapValueBytes(map, KEY_GRPC_STATUS));
    this.trailerMessage = this.trailerCode == GRPC_STATUS_ABSENT ? null : getHeaderMapValueBytes(map, KEY_GRPC_MESSAGE);
  }
}

/** Response code details `sendGrpcError` records unless given others. */
// @ts-ignore: decorator
@inline export const GRPC_ERROR_DETAILS: string = "wasm_grpc_error";

/**
 * Ends the RPC with gRPC status `code` and `message`, as Envoy answers a gRPC request itself
 * (Http::Utility::sendLocalReply): a trailers-only response — `:status 200`,
 * `content-type: application/grpc`, `grpc-status: <code>`, `grpc-message: <message>`
 * percent-encoded by the host (one trailing "\n" dropped; none when `message` is empty) — in one
 * HEADERS frame with END_STREAM and no body. `extraHeaders` (default none) are added to that
 * response; a `grpc-status` among them wins over `code`. `details` become the response code
 * details (%RESPONSE_CODE_DETAILS%; whitespace turns into '_').
 *
 * A request that is not gRPC (no application/grpc content-type) gets HTTP
 * grpcToHttpStatus(code) (e.g. 16 -> 401, 7 -> 403, 14 -> 503) with `message` as a text/plain body.
 *
 * The reply is sent after the current callback returns, and the stream stops there: return a
 * Stop status (or anything; the host forces the stop). Returns the host's result.
 */
export function sendGrpcError(code: i32, message: string, extraHeaders: Headers | null = null,
                              details: string = GRPC_ERROR_DETAILS): WasmResult {
  let body: ArrayBuffer | null = null;
  if (message.length > 0) body = String.UTF8.encode(message);
  return sendLocalResponse(<u32>grpcToHttpStatus(code), details, body, extraHeaders, code >= 0 && code <= 16 ? code : 2);
}
