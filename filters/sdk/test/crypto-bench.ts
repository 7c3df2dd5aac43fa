/**
 * Speed and size of filters/sdk/crypto (not a test: run `npx tsx filters/sdk/test/crypto-bench.ts`).
 *
 * Speed: the release-built crypto harness on Node's WebAssembly; each operation runs in a loop
 * inside the guest (no per-call JS overhead) and is timed in process CPU time (user + system),
 * which a loaded machine distorts less than wall time; the best of 5 rounds is reported.
 * Node's own crypto (OpenSSL, native code) runs the same operations in the same process as a
 * yardstick for the machine: absolute numbers on a shared, loaded machine vary by 2x between runs.
 * Size: each primitive alone in a release module (with the SDK's abort handler and the runtime,
 * as every filter has), minus that baseline module.
 */
import { createHash, createHmac, generateKeyPairSync, sign, verify } from "node:crypto";
import { compileAssemblyScript } from "../../../manager/src/build/index.ts";
import { compileCryptoHarness, concatBytes, loadCryptoHarness, SeededRandom } from "./crypto-harness.ts";

function cpuNs(fn: () => void, ops: number, rounds = 5): number {
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    const start = process.cpuUsage();
    fn();
    const used = process.cpuUsage(start);
    best = Math.min(best, ((used.user + used.system) * 1000) / ops);
  }
  return best;
}

async function speed(): Promise<Array<[string, string]>> {
  const h = await loadCryptoHarness(await compileCryptoHarness());
  const e = h.exports;
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const pub = new Uint8Array(publicKey.export({ format: "der", type: "spki" })).subarray(12);
  const jwtInput = new SeededRandom(7).bytes(400); // a JWT signing input: header.payload, ~400 bytes
  const sig = new Uint8Array(sign(null, jwtInput, privateKey));
  const data = new SeededRandom(3).bytes(1024);
  // in: [pub 32][sig 64][jwt 400][data 1024][base64url text of the jwt]
  const b64 = new TextEncoder().encode(Buffer.from(jwtInput).toString("base64url"));
  h.input(concatBytes([pub, sig, jwtInput, data, b64]));
  h.output(2048);
  const JWT = 96, DATA = 496, B64 = 1520;
  const rows: Array<[string, string]> = [];
  const fmt = (ns: number) => (ns >= 10_000 ? `${(ns / 1000).toFixed(1)} µs` : `${ns.toFixed(0)} ns`);
  for (const [label, len] of [["SHA-256, 64 B", 64], ["SHA-256, 1 KiB", 1024]] as const) {
    e.sha256Repeat!(DATA, len, 2000);
    rows.push([label, fmt(cpuNs(() => e.sha256Repeat!(DATA, len, 20_000), 20_000))]);
  }
  e.sha512Repeat!(DATA, 1024, 2000);
  rows.push(["SHA-512, 1 KiB", fmt(cpuNs(() => e.sha512Repeat!(DATA, 1024, 20_000), 20_000))]);
  e.hmacRepeat!(0, 32, JWT, 400, 2000);
  rows.push(["HMAC-SHA256 (prepared key), 400 B JWT signing input", fmt(cpuNs(() => e.hmacRepeat!(0, 32, JWT, 400, 20_000), 20_000))]);
  const decode = () => { for (let i = 0; i < 20_000; i++) e.b64Decode!(1, B64, b64.length, 0); };
  decode();
  rows.push([`base64url decode, ${b64.length} chars`, fmt(cpuNs(decode, 20_000))]);
  const key = e.edParse!(0, 32);
  if (e.edVerifyRepeat!(key, JWT, 400, 32, 10) !== 10) throw new Error("benchmark signature does not verify");
  e.edVerifyRepeat!(key, JWT, 400, 32, 300);
  rows.push(["Ed25519 verify (parsed key), 400 B message", fmt(cpuNs(() => e.edVerifyRepeat!(key, JWT, 400, 32, 1000), 1000))]);
  const oneShot = () => { for (let i = 0; i < 300; i++) e.edVerify!(0, 32, JWT, 400, 32, 64); };
  oneShot();
  rows.push(["Ed25519 verify (one-shot: decode key + table + verify)", fmt(cpuNs(oneShot, 300))]);
  const nodeData = Buffer.from(data);
  rows.push(["(Node native) SHA-256, 1 KiB", fmt(cpuNs(() => { for (let i = 0; i < 20_000; i++) createHash("sha256").update(nodeData).digest(); }, 20_000))]);
  const hmacKey = Buffer.from(pub);
  rows.push(["(Node native) HMAC-SHA256, 400 B", fmt(cpuNs(() => { for (let i = 0; i < 20_000; i++) createHmac("sha256", hmacKey).update(jwtInput).digest(); }, 20_000))]);
  rows.push(["(Node native) Ed25519 verify, 400 B", fmt(cpuNs(() => { for (let i = 0; i < 1000; i++) verify(null, jwtInput, publicKey, sig); }, 1000))]);
  e.keyedBucketRepeat!(JWT, 400, 2000);
  rows.push(["keyedHash64 (SipHash-2-4), 400 B", fmt(cpuNs(() => e.keyedBucketRepeat!(JWT, 400, 50_000), 50_000))]);
  e.keyedDigestRepeat!(JWT, 400, 2000);
  rows.push(["keyedDigestInto (HMAC-SHA256), 400 B", fmt(cpuNs(() => e.keyedDigestRepeat!(JWT, 400, 20_000), 20_000))]);
  const parse = () => { for (let i = 0; i < 300; i++) { e.edParse!(0, 32); } e.edForgetKeys!(); };
  parse();
  rows.push(["Ed25519 key parse (decode + table of 32 odd multiples)", fmt(cpuNs(parse, 300))]);
  return rows;
}

const SIZE_ENTRIES: Record<string, string> = {
  baseline: `import "../abi/abort";\nexport function run(p: usize, n: i32): i32 { return <i32>p + n; }`,
  "SHA-256": `import "../abi/abort";\nimport { sha256Into } from "./sha256";\nexport function run(p: usize, n: i32): i32 { return sha256Into(changetype<ArrayBuffer>(p), 0, n, changetype<ArrayBuffer>(p), 0) ? 1 : 0; }`,
  "SHA-512": `import "../abi/abort";\nimport { sha512Into } from "./sha512";\nexport function run(p: usize, n: i32): i32 { return sha512Into(changetype<ArrayBuffer>(p), 0, n, changetype<ArrayBuffer>(p), 0) ? 1 : 0; }`,
  "HMAC-SHA256 (incl. SHA-256)": `import "../abi/abort";\nimport { HmacSha256Key, hmacSha256Into } from "./hmac";\nexport function run(p: usize, n: i32): i32 { const b = changetype<ArrayBuffer>(p); const k = HmacSha256Key.fromBytes(b, 0, 32); return k !== null && hmacSha256Into(k, b, 0, n, b, 0) ? 1 : 0; }`,
  "base64url decode": `import "../abi/abort";\nimport { base64UrlDecodeInto } from "./base64";\nexport function run(p: usize, n: i32): i32 { const b = changetype<ArrayBuffer>(p); return base64UrlDecodeInto(b, 0, n, b, 0); }`,
  "SipHash-2-4": `import "../abi/abort";\nimport { sipHash24 } from "./siphash";\nexport function run(p: usize, n: i32): i32 { const b = changetype<ArrayBuffer>(p); return <i32>sipHash24(b, 0, b, 16, n); }`,
  "constantTimeEquals": `import "../abi/abort";\nimport { constantTimeEquals } from "./ct";\nexport function run(p: usize, n: i32): i32 { const b = changetype<ArrayBuffer>(p); return constantTimeEquals(b, 0, n, b, n, n) ? 1 : 0; }`,
  "keyed digest (incl. HMAC, random_get)": `import "../abi/abort";\nimport { keyedDigestInto } from "./keyed-digest";\nexport function run(p: usize, n: i32): i32 { const b = changetype<ArrayBuffer>(p); return keyedDigestInto(b, 0, n, b, 0) ? 1 : 0; }`,
  "Ed25519 verify (incl. SHA-512)": `import "../abi/abort";\nimport { Ed25519PublicKey } from "./ed25519/verify";\nexport function run(p: usize, n: i32): i32 { const b = changetype<ArrayBuffer>(p); const k = Ed25519PublicKey.parse(b, 0, 32); return k !== null && k.verify(b, 96, n, b, 32, 64) ? 1 : 0; }`,
  "all of the above": `import "../abi/abort";\nimport { sha256Into, HmacSha256Key, hmacSha256Into, base64UrlDecodeInto, constantTimeEquals, keyedDigestInto, Ed25519PublicKey } from "./index";\nexport function run(p: usize, n: i32): i32 { const b = changetype<ArrayBuffer>(p); const k = HmacSha256Key.fromBytes(b, 0, 32); const e = Ed25519PublicKey.parse(b, 0, 32); return (sha256Into(b, 0, n, b, 0) ? 1 : 0) + (k !== null && hmacSha256Into(k, b, 0, n, b, 0) ? 1 : 0) + base64UrlDecodeInto(b, 0, n, b, 0) + (constantTimeEquals(b, 0, n, b, n, n) ? 1 : 0) + (keyedDigestInto(b, 0, n, b, 0) ? 1 : 0) + (e !== null && e.verify(b, 96, n, b, 32, 64) ? 1 : 0); }`,
};

async function sizes(): Promise<Array<[string, string]>> {
  const bytes: Record<string, number> = {};
  for (const [name, source] of Object.entries(SIZE_ENTRIES)) {
    const path = `filters/sdk/crypto/size-probe-${Object.keys(bytes).length}.ts`;
    const withRuntime = `${source}\nexport function allocate(n: i32): i32 { return new ArrayBuffer(n).byteLength; }`;
    bytes[name] = (await compileAssemblyScript(path, { sources: { [path]: withRuntime } })).length;
  }
  return Object.entries(bytes).filter(([n]) => n !== "baseline")
    .map(([n, b]) => [n, `${b - bytes.baseline!} B (module ${b} B)`]);
}

const table = (title: string, rows: Array<[string, string]>) => {
  console.log(`\n${title}`);
  for (const [k, v] of rows) console.log(`  ${k.padEnd(58)} ${v}`);
};
table("speed (CPU time per operation, best of 5 rounds)", await speed());
if (!process.argv.includes("--speed-only")) table("size (release build, bytes over a module with the abort handler and the runtime)", await sizes());
