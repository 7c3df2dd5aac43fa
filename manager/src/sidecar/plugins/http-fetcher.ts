/**
 * Downloads a Wasm module over http(s) as istio-agent does (istio/istio `pkg/wasm/httpfetcher.go`):
 * GET with a deadline for the whole fetch (WASM_HTTP_REQUEST_TIMEOUT, 15 s), up to
 * WASM_HTTP_REQUEST_MAX_RETRIES (5) attempts, retried after a connection error or a 5xx other
 * than 501, 505 and 511, with exponential backoff from 500 ms; any other status fails at once.
 * A 200 body is unboxed while it is not Wasm: gzip is gunzipped, a POSIX tar yields its first
 * regular file. Bodies beyond the 256 MiB module cap are refused. Errors use the agent's words.
 */
import { gunzipSync } from "node:zlib";

export interface HttpFetchOptions {
  timeoutMs?: number;
  maxAttempts?: number;
  initialBackoffMs?: number;
  maxBytes?: number;
  fetchImpl?: typeof fetch;
}

export const DEFAULT_MAX_MODULE_BYTES = 256 * 1024 * 1024;
const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];

const isWasm = (b: Uint8Array) => b.length >= 8 && WASM_MAGIC.every((x, i) => b[i] === x);
const isGzip = (b: Uint8Array) => b.length > 2 && b[0] === 0x1f && b[1] === 0x8b;
const isTar = (b: Uint8Array) => b.length >= 512 && Buffer.from(b.subarray(257, 262)).toString("latin1") === "ustar";
const retryable = (status: number) => status >= 500 && status !== 501 && status !== 505 && status !== 511;

/** The first regular file of a tar archive (USTAR / PAX / GNU headers). */
function firstTarFile(b: Uint8Array): Uint8Array {
  for (let off = 0; off + 512 <= b.length; ) {
    const h = b.subarray(off, off + 512);
    if (h.every((x) => x === 0)) break;
    const size = parseInt(Buffer.from(h.subarray(124, 136)).toString("latin1").replace(/\0.*$/s, "").trim() || "0", 8);
    const type = String.fromCharCode(h[156]!);
    const start = off + 512;
    if (type === "0" || type === "\0") return b.subarray(start, start + size);
    off = start + Math.ceil(size / 512) * 512;
  }
  throw new Error("tar archive holds no regular file");
}

/** istio-agent's unboxIfPossible: gunzip / untar until Wasm, else the body as it came. */
export function unbox(body: Uint8Array, maxBytes = DEFAULT_MAX_MODULE_BYTES): Uint8Array {
  let b = body;
  for (let depth = 0; depth < 8; depth++) {
    if (isWasm(b)) return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    try {
      if (isGzip(b)) b = gunzipSync(b, { maxOutputLength: maxBytes });
      else if (isTar(b)) b = firstTarFile(b);
      else return body;
    } catch {
      return body;
    }
  }
  return body;
}

async function readCapped(res: Response, maxBytes: number): Promise<Uint8Array> {
  const length = Number(res.headers.get("content-length") ?? NaN);
  if (length > maxBytes) throw new Error(`wasm module size ${length} exceeds the limit of ${maxBytes} bytes`);
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    total += chunk.length;
    if (total > maxBytes) throw new Error(`wasm module size exceeds the limit of ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

export async function httpFetchModule(url: string, opts: HttpFetchOptions = {}): Promise<Uint8Array> {
  const maxAttempts = opts.maxAttempts ?? 5;
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_MODULE_BYTES;
  const doFetch = opts.fetchImpl ?? fetch;
  const deadline = AbortSignal.timeout(opts.timeoutMs ?? 15_000);
  let backoff = opts.initialBackoffMs ?? 500;
  let attempts = 0;
  let lastError = "";
  while (attempts < maxAttempts) {
    attempts++;
    let res: Response;
    try {
      res = await doFetch(url, { signal: deadline, redirect: "follow" });
    } catch (e) {
      const err = e as Error & { cause?: { code?: string; message?: string } };
      lastError = err.cause?.code ?? err.cause?.message ?? err.message;
      if (deadline.aborted) break;
      await new Promise((r) => setTimeout(r, backoff));
      backoff *= 2;
      continue;
    }
    if (res.status === 200) {
      try {
        return unbox(await readCapped(res, maxBytes), maxBytes);
      } catch (e) {
        lastError = (e as Error).message;
        break;
      }
    }
    lastError = `wasm module download request failed: status code ${res.status}`;
    await res.body?.cancel().catch(() => {});
    if (!retryable(res.status) || deadline.aborted) break;
    await new Promise((r) => setTimeout(r, backoff));
    backoff *= 2;
  }
  throw new Error(`wasm module download failed after ${attempts} attempts, last error: ${lastError}`);
}
