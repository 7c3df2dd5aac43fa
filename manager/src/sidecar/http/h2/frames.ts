/**
 * HTTP/2 framing (RFC 9113 §4, §6): the constants of the protocol, builders for the frames the
 * upstream codec sends, and an incremental reader that cuts a byte stream into frames.
 *
 * The reader calls `onFrame(type, flags, streamId, payload)` once per complete frame, in order;
 * `payload` is a view that stays valid only during the call. A frame longer than `maxFrameSize`
 * (our SETTINGS_MAX_FRAME_SIZE) is a FRAME_SIZE_ERROR (§4.2), reported by throwing H2Error.
 */

export const FrameType = {
  DATA: 0,
  HEADERS: 1,
  PRIORITY: 2,
  RST_STREAM: 3,
  SETTINGS: 4,
  PUSH_PROMISE: 5,
  PING: 6,
  GOAWAY: 7,
  WINDOW_UPDATE: 8,
  CONTINUATION: 9,
} as const;

export const Flags = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4, PADDED: 0x8, PRIORITY: 0x20 } as const;

/** Error codes (§7). */
export const ErrorCode = {
  NO_ERROR: 0,
  PROTOCOL_ERROR: 1,
  INTERNAL_ERROR: 2,
  FLOW_CONTROL_ERROR: 3,
  SETTINGS_TIMEOUT: 4,
  STREAM_CLOSED: 5,
  FRAME_SIZE_ERROR: 6,
  REFUSED_STREAM: 7,
  CANCEL: 8,
  COMPRESSION_ERROR: 9,
  CONNECT_ERROR: 10,
  ENHANCE_YOUR_CALM: 11,
} as const;

/** SETTINGS parameters (§6.5.2). */
export const Setting = {
  HEADER_TABLE_SIZE: 1,
  ENABLE_PUSH: 2,
  MAX_CONCURRENT_STREAMS: 3,
  INITIAL_WINDOW_SIZE: 4,
  MAX_FRAME_SIZE: 5,
  MAX_HEADER_LIST_SIZE: 6,
} as const;

export const DEFAULT_WINDOW = 65_535;
export const DEFAULT_MAX_FRAME_SIZE = 16_384;
export const MAX_WINDOW = 2 ** 31 - 1;
export const CLIENT_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/** A connection error (§5.4.1): the connection sends GOAWAY with `code` and closes. */
export class H2Error extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

function header(buf: Buffer, length: number, type: number, flags: number, streamId: number): void {
  buf[0] = (length >>> 16) & 0xff;
  buf[1] = (length >>> 8) & 0xff;
  buf[2] = length & 0xff;
  buf[3] = type;
  buf[4] = flags;
  buf.writeUInt32BE(streamId & 0x7fffffff, 5);
}

/** A frame with `payload` copied after its 9-byte header. */
export function frame(type: number, flags: number, streamId: number, payload?: Uint8Array): Buffer {
  const length = payload?.length ?? 0;
  const buf = Buffer.allocUnsafe(9 + length);
  header(buf, length, type, flags, streamId);
  if (payload) buf.set(payload, 9);
  return buf;
}

/** Only the 9-byte header of a frame whose payload is written separately (large DATA). */
export function frameHeader(length: number, type: number, flags: number, streamId: number): Buffer {
  const buf = Buffer.allocUnsafe(9);
  header(buf, length, type, flags, streamId);
  return buf;
}

export function settingsFrame(settings: ReadonlyArray<readonly [id: number, value: number]>): Buffer {
  const buf = Buffer.allocUnsafe(9 + 6 * settings.length);
  header(buf, 6 * settings.length, FrameType.SETTINGS, 0, 0);
  settings.forEach(([id, value], i) => {
    buf.writeUInt16BE(id, 9 + 6 * i);
    buf.writeUInt32BE(value, 11 + 6 * i);
  });
  return buf;
}

export function windowUpdateFrame(streamId: number, increment: number): Buffer {
  const buf = Buffer.allocUnsafe(13);
  header(buf, 4, FrameType.WINDOW_UPDATE, 0, streamId);
  buf.writeUInt32BE(increment, 9);
  return buf;
}

export function rstStreamFrame(streamId: number, code: number): Buffer {
  const buf = Buffer.allocUnsafe(13);
  header(buf, 4, FrameType.RST_STREAM, 0, streamId);
  buf.writeUInt32BE(code, 9);
  return buf;
}

export function goawayFrame(lastStreamId: number, code: number): Buffer {
  const buf = Buffer.allocUnsafe(17);
  header(buf, 8, FrameType.GOAWAY, 0, 0);
  buf.writeUInt32BE(lastStreamId & 0x7fffffff, 9);
  buf.writeUInt32BE(code, 13);
  return buf;
}

export type FrameHandler = (type: number, flags: number, streamId: number, payload: Buffer) => void;

/** Cuts a byte stream into frames; keeps an incomplete tail until the next chunk. */
export class FrameReader {
  private tail?: Buffer;

  constructor(
    private readonly maxFrameSize: number,
    private readonly onFrame: FrameHandler,
  ) {}

  push(chunk: Buffer): void {
    let buf = chunk;
    if (this.tail) {
      buf = Buffer.concat([this.tail, chunk]);
      this.tail = undefined;
    }
    let off = 0;
    const end = buf.length;
    while (end - off >= 9) {
      const length = (buf[off]! << 16) | (buf[off + 1]! << 8) | buf[off + 2]!;
      if (length > this.maxFrameSize) throw new H2Error(ErrorCode.FRAME_SIZE_ERROR, `frame of ${length} bytes exceeds SETTINGS_MAX_FRAME_SIZE`);
      if (end - off - 9 < length) break;
      const type = buf[off + 3]!;
      const flags = buf[off + 4]!;
      const streamId = buf.readUInt32BE(off + 5) & 0x7fffffff;
      this.onFrame(type, flags, streamId, buf.subarray(off + 9, off + 9 + length));
      off += 9 + length;
    }
    // Copy the tail: `chunk` may be a view into a pooled buffer the socket reuses.
    if (off < end) this.tail = Buffer.from(buf.subarray(off));
  }
}
