/**
 * Renders a BuildResult for people: a plain-text table (module, variant, size, ABI, version,
 * sha256 prefix), the SDK's own cost, filters whose version fell back to the package version, and
 * the manifest path. `formatBuiltLine` is the one-line form used for non-terminal progress.
 */
import path from "node:path";
import type { BuildResult, BuiltModule } from "./build-filters.ts";

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

/** `built filters/x.wasm (release) 1234 bytes, abi 0_2_1, version 0.1.0+abc, sha256 …`. */
export function formatBuiltLine(m: BuiltModule): string {
  return `built ${m.file} (${m.variant}) ${m.size} bytes, abi ${m.abi}, version ${m.version}, sha256 ${m.sha256}`;
}

export function formatSizeReport(result: BuildResult): string {
  const rows = [["module", "variant", "bytes", "size", "abi", "version", "sha256"]];
  for (const m of result.modules) {
    rows.push([m.file, m.variant, String(m.size), kib(m.size), m.abi, m.version, m.sha256.slice(0, 16)]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r) => r.map((c, i) => (i === 2 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ").trimEnd());
  lines.splice(1, 0, widths.map((w) => "-".repeat(w)).join("  "));
  const fallback = [...new Set(result.modules.filter((m) => m.versionSource === "package.json").map((m) => m.name))];
  if (fallback.length) lines.push("", `no filter.json (version from package.json): ${fallback.join(", ")}`);
  if (result.sdk) {
    const s = result.sdk;
    lines.push("", `SDK overhead: ${s.bytes} bytes (${kib(s.bytes)}) = noop ${s.noopSize} - empty module ${s.emptySize}`);
  }
  lines.push("", `manifest: ${path.relative(process.cwd(), result.manifestPath) || result.manifestPath}`);
  return lines.join("\n");
}
