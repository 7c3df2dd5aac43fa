/**
 * A growable byte buffer with the operations Envoy's Buffer::Instance offers filters:
 * append, prepend, drain, read a range. Used for request/response bodies and for the
 * filter manager's buffered data.
 */
export class BodyBuffer {
  private chunks: Uint8Array[] = [];
  private total = 0;

  constructor(initial?: Uint8Array) {
    if (initial && initial.length > 0) this.append(initial);
  }

  get length(): number {
    return this.total;
  }

  append(data: Uint8Array): void {
    if (data.length === 0) return;
    this.chunks.push(data);
    this.total += data.length;
  }

  prepend(data: Uint8Array): void {
    if (data.length === 0) return;
    this.chunks.unshift(data);
    this.total += data.length;
  }

  /** Removes `n` bytes from the front (all of them if n >= length). */
  drain(n: number): void {
    let left = Math.min(n, this.total);
    this.total -= left;
    while (left > 0) {
      const first = this.chunks[0]!;
      if (first.length <= left) {
        this.chunks.shift();
        left -= first.length;
      } else {
        this.chunks[0] = first.subarray(left);
        left = 0;
      }
    }
  }

  /** Moves all bytes of `other` to the end of this buffer, leaving `other` empty. */
  move(other: BodyBuffer): void {
    for (const c of other.chunks) this.append(c);
    other.chunks = [];
    other.total = 0;
  }

  /** Copies bytes [start, start+len) clamped to the end (Envoy's getBufferBytes clamps). */
  slice(start = 0, len = this.total - start): Uint8Array {
    const from = Math.max(0, Math.min(start, this.total));
    const to = Math.max(from, Math.min(this.total, from + Math.max(0, len)));
    const out = new Uint8Array(to - from);
    let pos = 0;
    let written = 0;
    for (const c of this.chunks) {
      const cStart = pos;
      const cEnd = pos + c.length;
      pos = cEnd;
      if (cEnd <= from) continue;
      if (cStart >= to) break;
      const a = Math.max(from, cStart) - cStart;
      const b = Math.min(to, cEnd) - cStart;
      out.set(c.subarray(a, b), written);
      written += b - a;
    }
    return out;
  }

  toUint8Array(): Uint8Array {
    if (this.chunks.length === 1) return this.chunks[0]!;
    return this.slice();
  }

  clear(): void {
    this.chunks = [];
    this.total = 0;
  }
}
