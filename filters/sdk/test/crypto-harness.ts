/**
 * Loads the AssemblyScript crypto harness (harness/crypto-harness.as.ts) into Node's WebAssembly.
 * Its imports are `env.proxy_log` and `wasi_snapshot_preview1.random_get`, the latter from the
 * proxy-wasm host's own WASI implementation (manager/src/sidecar/host/wasi.ts), so the keyed
 * digest draws its key exactly as it does under the sidecar. Helpers copy bytes in and out of
 * the harness's input and output buffers.
 */
import { wasmApi, type WasmMemory } from "../../../manager/src/build/index.ts";
import { compileCached } from "../../../test/support/compile-cache.ts";
import { RealClock } from "../../../manager/src/sidecar/host/clock.ts";
import { createWasiImports } from "../../../manager/src/sidecar/host/wasi.ts";

type Fn = (...args: number[]) => number;

export interface CryptoHarness {
  exports: Record<string, Fn> & { memory: WasmMemory };
  logs: string[];
  /** Replaces the input buffer with `bytes` (plus `slack` zero bytes); returns nothing. */
  input(bytes: Uint8Array, slack?: number): void;
  /** Replaces the output buffer with `size` zero bytes. */
  output(size: number): void;
  /** A copy of output bytes [offset, offset + length). */
  read(offset: number, length: number): Uint8Array;
  /** Number of random_get calls the guest made. */
  randomCalls(): number;
}

export const CRYPTO_HARNESS_ENTRY = "filters/sdk/test/harness/crypto-harness.as.ts";

let compiled: Promise<Uint8Array> | undefined;

/** Compiles the harness (release target, as filters ship), once per source state across test files (compile-cache.ts). */
export function compileCryptoHarness(): Promise<Uint8Array> {
  compiled ??= compileCached(CRYPTO_HARNESS_ENTRY);
  return compiled;
}

export interface LoadOptions {
  /** Replaces random_get (e.g. to simulate a host without randomness). */
  randomGet?: (ptr: number, len: number) => number;
}

export async function loadCryptoHarness(wasm: Uint8Array, options: LoadOptions = {}): Promise<CryptoHarness> {
  const logs: string[] = [];
  let memory: WasmMemory | undefined;
  let randomCalls = 0;
  const wasi = createWasiImports({
    memory: () => memory!,
    env: {},
    log: (_level, msg) => logs.push(msg),
    clock: new RealClock(),
  });
  const randomGet = options.randomGet ?? (wasi.random_get as (ptr: number, len: number) => number);
  const imports = {
    env: {
      proxy_log: (_level: number, ptr: number, len: number) => {
        logs.push(Buffer.from(new Uint8Array(memory!.buffer, ptr, len)).toString("utf8"));
        return 0;
      },
    },
    wasi_snapshot_preview1: {
      random_get: (ptr: number, len: number) => {
        randomCalls++;
        return randomGet(ptr, len);
      },
    },
  };
  const { instance } = await wasmApi.instantiate(wasm, imports);
  const exports = instance.exports as unknown as CryptoHarness["exports"];
  memory = exports.memory;
  exports._initialize!();
  let outPtr = 0;
  return {
    exports,
    logs,
    input(bytes, slack = 0) {
      const ptr = exports.inputBuffer!(bytes.length + slack);
      new Uint8Array(exports.memory.buffer, ptr, bytes.length).set(bytes);
    },
    output(size) {
      outPtr = exports.outputBuffer!(size);
    },
    read(offset, length) {
      return new Uint8Array(exports.memory.buffer, outPtr + offset, length).slice();
    },
    randomCalls: () => randomCalls,
  };
}

/** Concatenates byte arrays. */
export function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/** A little-endian u32 as 4 bytes. */
export function u32le(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0, true);
  return b;
}

/**
 * Seeded pseudo-random source (32-bit xorshift), so that every failing batch is reproducible:
 * the seed comes from CRYPTO_TEST_SEED when set, else from the clock, and tests print it in
 * their failure messages.
 */
export class SeededRandom {
  private x: number;
  constructor(readonly seed: number) {
    this.x = (seed >>> 0) || 0x9e3779b9;
  }
  /** A uniform u32. */
  u32(): number {
    let x = this.x;
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    this.x = x;
    return x;
  }
  /** A uniform integer in [0, n). */
  below(n: number): number {
    return Math.floor((this.u32() / 0x1_0000_0000) * n);
  }
  bytes(length: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = this.u32() & 0xff;
    return out;
  }
}

export function testSeed(): number {
  const fromEnv = process.env.CRYPTO_TEST_SEED;
  return fromEnv !== undefined && fromEnv !== "" ? Number(fromEnv) >>> 0 : (Date.now() ^ (process.pid << 16)) >>> 0;
}

export const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
export const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "hex"));
