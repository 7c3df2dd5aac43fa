/**
 * The tar subset Wasm images need (POSIX.1-1988 ustar, POSIX.1-2001 pax and GNU long names):
 *
 * - `singleFileTar` writes one regular file with fixed metadata (mode 0644, uid/gid 0, empty
 *   user/group names, mtime 0) and the two-block end marker, so the same content always gives
 *   the same bytes;
 * - `findInTar` walks an archive as Go's archive/tar does for istio-agent's
 *   `extractWasmPluginBinary`: checksums verified, pax `path`/`size` records and GNU `L` names
 *   applied, the first entry whose basename (Go's `filepath.Base`) equals the wanted name wins,
 *   header-only entry types (links, directories, devices, fifos) carry no data.
 *
 * `findInTar` never throws anything but TarError, whatever the input (property-tested).
 */

export class TarError extends Error {
  override readonly name = "TarError";
}

const BLOCK = 512;

function writeString(buf: Uint8Array, offset: number, length: number, value: string): void {
  const bytes = Buffer.from(value, "utf8");
  if (bytes.length > length) throw new TarError(`tar field too long: "${value}"`);
  buf.set(bytes, offset);
}

function writeOctal(buf: Uint8Array, offset: number, length: number, value: number): void {
  writeString(buf, offset, length, value.toString(8).padStart(length - 1, "0") + "\0");
}

/** A tar archive holding exactly one regular file `name` with `content`, reproducibly. */
export function singleFileTar(name: string, content: Uint8Array): Uint8Array {
  if (content.byteLength > 0o77777777777) throw new TarError("file too large for a ustar header");
  const padded = Math.ceil(content.byteLength / BLOCK) * BLOCK;
  const out = new Uint8Array(BLOCK + padded + 2 * BLOCK);
  const h = out.subarray(0, BLOCK);
  writeString(h, 0, 100, name);
  writeOctal(h, 100, 8, 0o644);
  writeOctal(h, 108, 8, 0);
  writeOctal(h, 116, 8, 0);
  writeOctal(h, 124, 12, content.byteLength);
  writeOctal(h, 136, 12, 0);
  h.fill(0x20, 148, 156); // checksum field counts as spaces
  h[156] = 0x30; // '0': regular file
  writeString(h, 257, 6, "ustar\0");
  writeString(h, 263, 2, "00");
  writeOctal(h, 329, 8, 0);
  writeOctal(h, 337, 8, 0);
  let sum = 0;
  for (const b of h) sum += b;
  writeString(h, 148, 8, sum.toString(8).padStart(6, "0") + "\0 ");
  out.set(content, BLOCK);
  return out;
}

function cString(buf: Uint8Array, offset: number, length: number): string {
  const field = buf.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return Buffer.from(end < 0 ? field : field.subarray(0, end)).toString("utf8");
}

/** A numeric field: octal text, or base-256 when the high bit of the first byte is set. */
function parseNumber(buf: Uint8Array, offset: number, length: number): number {
  const field = buf.subarray(offset, offset + length);
  if (field[0]! & 0x80) {
    if (field[0] === 0xff) throw new TarError("archive/tar: invalid tar header");
    let v = field[0]! & 0x7f;
    for (let i = 1; i < field.length; i++) {
      v = v * 256 + field[i]!;
      if (v > Number.MAX_SAFE_INTEGER) throw new TarError("archive/tar: invalid tar header");
    }
    return v;
  }
  const text = Buffer.from(field).toString("latin1").replace(/[\0 ]+$/, "").replace(/^[\0 ]+/, "");
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text)) throw new TarError("archive/tar: invalid tar header");
  return parseInt(text, 8);
}

function checksumOk(h: Uint8Array): boolean {
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : h[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  let stored: number;
  try {
    stored = parseNumber(h, 148, 8);
  } catch {
    return false;
  }
  return stored === unsigned || stored === signed;
}

function isZeroBlock(h: Uint8Array): boolean {
  for (const b of h) if (b !== 0) return false;
  return true;
}

/** Parses pax records `"%d %s=%s\n"`; a malformed record is a header error. */
function parsePax(data: Uint8Array): Map<string, string> {
  const out = new Map<string, string>();
  let i = 0;
  while (i < data.length) {
    const space = data.indexOf(0x20, i);
    if (space < 0) throw new TarError("archive/tar: invalid tar header");
    const lenText = Buffer.from(data.subarray(i, space)).toString("latin1");
    if (!/^[1-9]\d{0,9}$/.test(lenText)) throw new TarError("archive/tar: invalid tar header");
    const len = Number(lenText);
    if (i + len > data.length || len <= space - i + 1 || data[i + len - 1] !== 0x0a) throw new TarError("archive/tar: invalid tar header");
    const record = Buffer.from(data.subarray(space + 1, i + len - 1)).toString("utf8");
    const eq = record.indexOf("=");
    if (eq <= 0) throw new TarError("archive/tar: invalid tar header");
    out.set(record.slice(0, eq), record.slice(eq + 1));
    i += len;
  }
  return out;
}

/** Go's `filepath.Base` on slash-separated paths. */
export function goBase(p: string): string {
  if (p === "") return ".";
  let s = p.replace(/\/+$/, "");
  if (s === "") return "/";
  const slash = s.lastIndexOf("/");
  if (slash >= 0) s = s.slice(slash + 1);
  return s;
}

const HEADER_ONLY = new Set(["1", "2", "3", "4", "5", "6"]);

/**
 * Content of the first entry whose basename is `wanted`, or null when the archive ends without
 * one. Truncation and bad headers are TarError with Go's wording.
 */
export function findInTar(archive: Uint8Array, wanted: string): Uint8Array | null {
  let pos = 0;
  let paxPath: string | undefined;
  let paxSize: number | undefined;
  let longName: string | undefined;
  for (;;) {
    if (pos + BLOCK > archive.length) {
      if (pos === archive.length) return null; // io.EOF at a block boundary
      throw new TarError("unexpected EOF");
    }
    const h = archive.subarray(pos, pos + BLOCK);
    pos += BLOCK;
    if (isZeroBlock(h)) {
      if (pos + BLOCK > archive.length) return null;
      if (isZeroBlock(archive.subarray(pos, pos + BLOCK))) return null;
      throw new TarError("archive/tar: invalid tar header");
    }
    if (!checksumOk(h)) throw new TarError("archive/tar: invalid tar header");
    const type = String.fromCharCode(h[156]!);
    let size = parseNumber(h, 124, 12);
    if (type === "x" || type === "g" || type === "L" || type === "K") {
      if (size > 1 << 20) throw new TarError("archive/tar: invalid tar header");
      const padded = Math.ceil(size / BLOCK) * BLOCK;
      if (pos + size > archive.length) throw new TarError("unexpected EOF");
      const data = archive.subarray(pos, pos + size);
      pos += padded;
      if (type === "x") {
        const records = parsePax(data);
        if (records.has("path")) paxPath = records.get("path");
        if (records.has("size")) {
          const v = records.get("size")!;
          if (!/^\d{1,15}$/.test(v)) throw new TarError("archive/tar: invalid tar header");
          paxSize = Number(v);
        }
      } else if (type === "L") {
        longName = cString(data, 0, data.length);
      }
      continue;
    }
    let name = cString(h, 0, 100);
    const magic = cString(h, 257, 6);
    if (magic === "ustar") {
      const prefix = cString(h, 345, 155);
      if (prefix) name = `${prefix}/${name}`;
    }
    if (longName !== undefined) name = longName;
    if (paxPath !== undefined) name = paxPath;
    if (paxSize !== undefined) size = paxSize;
    longName = paxPath = paxSize = undefined;
    const dataSize = HEADER_ONLY.has(type) ? 0 : size;
    if (goBase(name) === wanted) {
      if (size > dataSize || pos + size > archive.length) throw new TarError(`failed to read ${wanted}: unexpected EOF`);
      const out = new Uint8Array(size);
      out.set(archive.subarray(pos, pos + size));
      return out;
    }
    pos += Math.ceil(dataSize / BLOCK) * BLOCK;
    if (pos > archive.length) throw new TarError("unexpected EOF");
  }
}
