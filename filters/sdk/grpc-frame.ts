/**
 * Incremental parser for gRPC length-prefixed messages (gRPC over HTTP/2 spec, "Length-Prefixed-
 * Message"): 1 byte Compressed-Flag, 4 bytes big-endian u32 Message-Length, then the message.
 *
 * Works across ANY chunk boundaries — a 5-byte prefix may arrive one byte at a time — and never
 * allocates for a declared length: payload bytes are counted and skipped unless capture is on
 * and the message fits in `maxCapture` (so a declared 0xFFFFFFF0 costs nothing). Like Envoy's
 * Grpc::Decoder (source/common/grpc/codec.cc), a flags byte with reserved bits set (anything but
 * 0x00 / 0x01) is a decoding error; the parser then stops consuming (`error` stays true).
 *
 * Subclass and override `onMessageStart` / `onMessage` to observe messages.
 */

// @ts-ignore: decorator
@inline const PREFIX_SIZE: u32 = 5;
/** Upper bound on a captured message, whatever `maxCapture` says (64 MiB). */
// @ts-ignore: decorator
@inline const CAPTURE_LIMIT: u32 = 64 << 20;

export class GrpcFrameParser {
  /** Completed messages. */
  messages: u64 = 0;
  /** Completed messages whose Compressed-Flag was 1. */
  compressedMessages: u64 = 0;
  /** Sum of the payload lengths of completed messages. */
  payloadBytes: u64 = 0;
  /** Every byte consumed (prefixes + payloads, including a partial message). */
  bytes: u64 = 0;
  /** A reserved flag bit was set; nothing more is parsed. */
  error: bool = false;

  private prefixFill: u32 = 0;
  private flagByte: u32 = 0;
  private lengthAcc: u32 = 0;
  private inPayload: bool = false;
  private remaining: u32 = 0;
  private msgLength: u32 = 0;
  private capture: ArrayBuffer | null = null;
  private captureFill: u32 = 0;

  /** `maxCapture` > 0 copies messages up to that many bytes and passes them to onMessage. */
  constructor(public maxCapture: u32 = 0) {
    if (maxCapture > CAPTURE_LIMIT) this.maxCapture = CAPTURE_LIMIT;
  }

  /** Called once the 5-byte prefix of a message is complete (before any payload). */
  onMessageStart(compressed: bool, length: u32): void {}

  /** Called when a message is complete; `data` is null unless captured. */
  onMessage(compressed: bool, length: u32, data: ArrayBuffer | null): void {}

  /** True while a message (or its prefix) has started but not finished. */
  get partial(): bool { return this.inPayload || this.prefixFill > 0; }

  /**
   * Payload bytes the current message still needs (0 between messages or inside a prefix). A
   * caller that only counts can pass that many bytes to `skipPayload` without reading them.
   */
  get pendingPayload(): u32 { return this.inPayload && !this.error ? this.remaining : 0; }

  /**
   * Consumes `n` payload bytes of the current message without reading them, as `feed` would
   * (clamped to `pendingPayload`). Not for a parser that captures messages (`maxCapture` > 0):
   * the captured copy would miss them, so it then does nothing.
   */
  skipPayload(n: u32): void {
    if (!this.inPayload || this.error || this.capture !== null) return;
    const k = n < this.remaining ? n : this.remaining;
    this.bytes += k;
    this.remaining -= k;
    if (this.remaining == 0) this.finishMessage();
  }

  /** Feeds `len` bytes at `ptr`. */
  feed(ptr: usize, len: usize): void {
    let p = ptr;
    const end = ptr + len;
    while (p < end && !this.error) {
      if (!this.inPayload) {
        const b = <u32>load<u8>(p++);
        this.bytes++;
        if (this.prefixFill == 0) {
          if ((b & ~1) != 0) { this.error = true; return; }
          this.flagByte = b;
          this.lengthAcc = 0;
        } else {
          this.lengthAcc = (this.lengthAcc << 8) | b;
        }
        if (++this.prefixFill == PREFIX_SIZE) this.startMessage();
      } else {
        const avail = end - p;
        const n = <u32>(avail < <usize>this.remaining ? avail : <usize>this.remaining);
        const cap = this.capture;
        if (cap !== null) {
          memory.copy(changetype<usize>(cap) + <usize>this.captureFill, p, n);
          this.captureFill += n;
        }
        p += n;
        this.bytes += n;
        this.remaining -= n;
        if (this.remaining == 0) this.finishMessage();
      }
    }
  }

  /** Feeds bytes [start, end) of `buf` (end < 0 = to the end). */
  feedBuffer(buf: ArrayBuffer, start: i32 = 0, end: i32 = -1): void {
    const e = end < 0 || end > buf.byteLength ? buf.byteLength : end;
    if (start < 0 || start >= e) return;
    this.feed(changetype<usize>(buf) + <usize>start, <usize>(e - start));
  }

  /** Forgets everything, including counters. */
  reset(): void {
    this.messages = 0; this.compressedMessages = 0; this.payloadBytes = 0; this.bytes = 0;
    this.error = false; this.prefixFill = 0; this.inPayload = false; this.remaining = 0;
    this.capture = null; this.captureFill = 0;
  }

  private startMessage(): void {
    this.prefixFill = 0;
    this.msgLength = this.lengthAcc;
    this.onMessageStart(this.flagByte != 0, this.msgLength);
    this.captureFill = 0;
    this.capture = this.maxCapture > 0 && this.msgLength <= this.maxCapture ? new ArrayBuffer(<i32>this.msgLength) : null;
    if (this.msgLength == 0) { this.finishMessage(); return; }
    this.inPayload = true;
    this.remaining = this.msgLength;
  }

  private finishMessage(): void {
    this.inPayload = false;
    const compressed = this.flagByte != 0;
    this.messages++;
    if (compressed) this.compressedMessages++;
    this.payloadBytes += this.msgLength;
    const data = this.capture;
    this.capture = null;
    this.onMessage(compressed, this.msgLength, data);
  }
}
