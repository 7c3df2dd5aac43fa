/**
 * Loads the AssemblyScript JSON harness (harness/json-harness.as.ts) into Node's WebAssembly and
 * wraps its exports, plus the reference side: Node's JSON.parse over the bytes decoded as Node
 * decodes them, written in the harness's canonical form (see the harness's doc comment).
 */
import type { WasmMemory } from "../../../manager/src/build/index.ts";
import { compileCached } from "../../../test/support/compile-cache.ts";
import { instantiateWithLog, withGuestBytes } from "./guest-loader.ts";

type Fn = (...args: number[]) => number;

export const JSON_HARNESS_ENTRY = "filters/sdk/test/harness/json-harness.as.ts";

/** Compiles the harness (release target), once per source state across test files (compile-cache.ts). */
export async function compileJsonHarness(): Promise<Uint8Array> {
  return compileCached(JSON_HARNESS_ENTRY);
}

/** One parse as the guest reported it. */
export interface GuestResult {
  ok: boolean;
  offset: number;
  error: string;
  path: string;
  /** Canonical form of the value ("" when rejected). */
  canonical: string;
}

export interface JsonHarness {
  exports: Record<string, Fn> & { memory: WasmMemory };
  logs: string[];
  /** Parses each input; mode "bytes" uses parseJsonBytes, "text" passes UTF-16 code units to parseJson. */
  parseBatch(inputs: Array<Uint8Array | string>, mode?: "bytes" | "text", maxDepth?: number): GuestResult[];
  parse(input: Uint8Array | string, mode?: "bytes" | "text", maxDepth?: number): GuestResult;
  /** The root's getters, one per line (see `inspect` in the harness). */
  inspect(json: string | Uint8Array, probes?: string[]): string[];
  /** The sample ConfigReader schema's output lines. */
  readConfig(json: string | Uint8Array, maxErrors?: number, mode?: "bytes" | "text"): string[];
  benchParse(bytes: Uint8Array, iterations: number): number;
}

const utf8 = (s: string | Uint8Array): Uint8Array => (typeof s === "string" ? new Uint8Array(Buffer.from(s, "utf8")) : s);

export async function loadJsonHarness(wasm: Uint8Array): Promise<JsonHarness> {
  const { exports, logs } = await instantiateWithLog<JsonHarness["exports"]>(wasm);
  const withBytes = <T>(bytes: Uint8Array, fn: (ptr: number, len: number) => T): T => withGuestBytes(exports, bytes, fn);
  const out = (): Buffer => Buffer.from(new Uint8Array(exports.memory.buffer, exports.outPtr!(), exports.outLen!()));
  const outText = (): string => out().toString("utf8");

  function parseBatch(inputs: Array<Uint8Array | string>, mode: "bytes" | "text" = "bytes", maxDepth = 0): GuestResult[] {
    const encoded = inputs.map((x) => (mode === "text" ? Buffer.from(String(x), "utf16le") : Buffer.from(utf8(x))));
    const parts: Buffer[] = [];
    for (const e of encoded) {
      const len = Buffer.alloc(4);
      len.writeUInt32LE(e.length);
      parts.push(len, e);
    }
    const count = withBytes(new Uint8Array(Buffer.concat(parts)), (p, n) => exports.parseBatch!(p, n, mode === "text" ? 1 : 0, maxDepth));
    const buf = out();
    const results: GuestResult[] = [];
    let at = 0;
    const field = (): string => {
      const n = buf.readUInt32LE(at);
      const s = buf.toString("utf8", at + 4, at + 4 + n);
      at += 4 + n;
      return s;
    };
    for (let i = 0; i < count; i++) {
      const ok = buf[at] === 1;
      const offset = buf.readInt32LE(at + 1);
      at += 5;
      results.push({ ok, offset, error: field(), path: field(), canonical: field() });
    }
    exports.collect!();
    return results;
  }

  return {
    exports,
    logs,
    parseBatch,
    parse: (input, mode = "bytes", maxDepth = 0) => parseBatch([input], mode, maxDepth)[0]!,
    inspect(json, probes = []) {
      const probeBytes = Buffer.from(probes.join("\n"), "utf8");
      const probePtr = exports.alloc!(Math.max(1, probeBytes.length));
      new Uint8Array(exports.memory.buffer, probePtr, probeBytes.length).set(probeBytes);
      withBytes(utf8(json), (p, n) => exports.inspect!(p, n, probePtr, probeBytes.length));
      exports.release!(probePtr);
      const text = outText();
      exports.collect!();
      return text.split("\n");
    },
    readConfig(json, maxErrors = 16, mode = "bytes") {
      withBytes(utf8(json), (p, n) => exports.readConfig!(p, n, maxErrors, mode === "text" ? 1 : 0));
      const text = outText();
      exports.collect!();
      return text.split("\n");
    },
    benchParse: (bytes, iterations) => withBytes(bytes, (p, n) => exports.benchParse!(p, n, iterations)),
  };
}

// ===== the reference: Node =====

const hex4 = (c: number) => c.toString(16).padStart(4, "0");

function canonicalString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out += c >= 0x20 && c < 0x7f && c !== 0x22 && c !== 0x5c ? s[i] : "\\" + hex4(c);
  }
  return out + '"';
}

const f64 = new DataView(new ArrayBuffer(8));

/** The harness's canonical form of a JSON.parse result (Object.keys gives V8's key order). */
export function canonical(v: unknown): string {
  if (v === null) return "n";
  if (v === true) return "t";
  if (v === false) return "f";
  if (typeof v === "number") {
    f64.setFloat64(0, v);
    return "#" + f64.getBigUint64(0).toString(16).padStart(16, "0");
  }
  if (typeof v === "string") return canonicalString(v);
  if (Array.isArray(v)) return "[" + v.map(canonical).join(",") + "]";
  const o = v as Record<string, unknown>;
  return "{" + Object.keys(o).map((k) => canonicalString(k) + ":" + canonical(o[k])).join(",") + "}";
}

/** JSON.parse as Node reads a config: bytes decoded as UTF-8 with replacement, then parsed. */
export function nodeParse(input: Uint8Array | string, mode: "bytes" | "text" = "bytes"): { ok: boolean; canonical: string } {
  const text = mode === "text" ? String(input) : Buffer.from(utf8(input)).toString("utf8");
  try {
    return { ok: true, canonical: canonical(JSON.parse(text)) };
  } catch {
    return { ok: false, canonical: "" };
  }
}
