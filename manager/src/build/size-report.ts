/** Renders a BuildResult as a plain-text table (module, variant, size, sha256) plus the SDK cost. */
import path from "node:path";
import type { BuildResult } from "./build-filters.ts";

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

export function formatSizeReport(result: BuildResult): string {
  const rows = [["module", "variant", "bytes", "size", "abi", "sha256"]];
  for (const m of result.modules) {
    rows.push([m.file, m.variant, String(m.size), kib(m.size), m.abi, m.sha256.slice(0, 16)]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r) => r.map((c, i) => (i === 2 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ").trimEnd());
  lines.splice(1, 0, widths.map((w) => "-".repeat(w)).join("  "));
  if (result.sdk) {
    const s = result.sdk;
    lines.push("", `SDK overhead: ${s.bytes} bytes (${kib(s.bytes)}) = noop ${s.noopSize} - empty module ${s.emptySize}`);
  }
  lines.push("", `manifest: ${path.relative(process.cwd(), result.manifestPath) || result.manifestPath}`);
  return lines.join("\n");
}
