/**
 * OCI benchmark (issue 9, report only, no goal): time to push a filter image to a local CNCF
 * registry and to pull-and-verify it with istio-agent's checks, cold and with blobs already
 * present, for Basic and token auth.
 *
 * - push, cold: a new repository, a new client (ping, auth), both blobs uploaded;
 * - push, blobs present: the same repository again (HEAD finds both blobs; manifest PUT only);
 * - push, mounted: a new repository of the same registry, blobs mounted from the first;
 * - pull+verify, cold: a new client (ping, auth), manifest, layer, every check;
 * - pull+verify, warm: the same client again (connection and token reused).
 *
 * `npx tsx test/bench/oci-bench.ts [--rounds N]`. Uses the largest module in build/filters if
 * there is one (run `npm run build` first), plus a 4 MiB synthetic module (chunked upload).
 * Prints the table and writes it to its section of test/bench/PLUGINS-RESULTS.md.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { pullWasmImage, pushWasmImage, RegistryTransport, toResolver, type RegistryCredentials } from "../../manager/src/oci/index.ts";
import { testModule } from "../oci/support/modules.ts";
import { startRegistry } from "../support/registry.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

export interface OciBenchRow {
  auth: string;
  module: string;
  bytes: number;
  scenario: string;
  medianMs: number;
  p90Ms: number;
}

function stats(samples: number[]): { median: number; p90: number } {
  const s = [...samples].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)]!, p90: s[Math.min(s.length - 1, Math.ceil(s.length * 0.9) - 1)]! };
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

async function modules(): Promise<Array<{ name: string; wasm: Uint8Array }>> {
  const out: Array<{ name: string; wasm: Uint8Array }> = [];
  try {
    const dir = join(ROOT, "build/filters");
    const files = (await readdir(dir)).filter((f) => f.endsWith(".wasm") && !f.endsWith(".debug.wasm"));
    let best: { name: string; wasm: Uint8Array } | undefined;
    for (const f of files) {
      const wasm = new Uint8Array(await readFile(join(dir, f)));
      if (!best || wasm.byteLength > best.wasm.byteLength) best = { name: f.replace(/\.wasm$/, ""), wasm };
    }
    if (best) out.push(best);
  } catch {
    /* no build: synthetic modules only */
  }
  if (out.length === 0) out.push({ name: "synthetic-20k", wasm: testModule(20_000, 1) });
  out.push({ name: "synthetic-4m", wasm: testModule(4 * 1024 * 1024, 2) });
  return out;
}

export async function runOciBench(rounds = 15): Promise<OciBenchRow[]> {
  const rows: OciBenchRow[] = [];
  for (const mode of ["htpasswd", "token"] as const) {
    const reg = await startRegistry({ auth: mode });
    const creds: RegistryCredentials = { username: "alice", password: "wonderland-42" };
    const fresh = () => new RegistryTransport(reg.host, toResolver(creds));
    try {
      for (const mod of await modules()) {
        const input = { wasm: mod.wasm, name: mod.name, version: "1.0.0" };
        const push = (repo: string, extra: Record<string, unknown> = {}) =>
          pushWasmImage(`${reg.host}/${repo}:1.0.0`, input, { transport: fresh(), blobLocations: false, chunkSize: 1024 * 1024, ...extra });
        const samples: Record<string, number[]> = { "push, cold": [], "push, blobs present": [], "push, mounted": [], "pull+verify, cold": [], "pull+verify, warm": [] };
        // One warm-up round (JIT, registry caches) that is not counted.
        await push(`warmup/${mod.name}`);
        const warmClient = fresh();
        for (let i = 0; i < rounds; i++) {
          const repo = `bench/${mod.name}-${i}`;
          let digest = "";
          samples["push, cold"]!.push(await timed(async () => (digest = (await push(repo)).manifestDigest)));
          samples["push, blobs present"]!.push(await timed(() => push(repo)));
          samples["push, mounted"]!.push(await timed(() => push(`mounted/${mod.name}-${i}`, { mountFrom: [repo] })));
          samples["pull+verify, cold"]!.push(await timed(() => pullWasmImage(`${reg.host}/${repo}:1.0.0`, { transport: fresh(), expectedSha256: digest })));
          samples["pull+verify, warm"]!.push(await timed(() => pullWasmImage(`${reg.host}/${repo}:1.0.0`, { transport: warmClient, expectedSha256: digest })));
        }
        for (const [scenario, s] of Object.entries(samples)) {
          const { median, p90 } = stats(s);
          rows.push({ auth: mode === "htpasswd" ? "Basic" : "token", module: mod.name, bytes: mod.wasm.byteLength, scenario, medianMs: median, p90Ms: p90 });
        }
      }
    } finally {
      await reg.stop();
    }
  }
  return rows;
}

export function formatOciBench(rows: OciBenchRow[]): string {
  const lines = ["| auth | module | size | scenario | median ms | p90 ms |", "| --- | --- | --- | --- | --- | --- |"];
  for (const r of rows) lines.push(`| ${r.auth} | ${r.module} | ${(r.bytes / 1024).toFixed(0)} KiB | ${r.scenario} | ${r.medianMs.toFixed(1)} | ${r.p90Ms.toFixed(1)} |`);
  return lines.join("\n");
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const i = process.argv.indexOf("--rounds");
  const rounds = i > 0 ? Number(process.argv[i + 1]) : 15;
  const rows = await runOciBench(rounds);
  process.stdout.write(formatOciBench(rows) + "\n");
  const { writeResultsSection } = await import("./plugins-startup-bench.ts");
  await writeResultsSection("oci", "Push and pull-and-verify a filter image", `npx tsx test/bench/oci-bench.ts --rounds ${rounds}`, formatOciBench(rows));
}
