/**
 * istio-agent's Wasm metrics (istio/istio `pkg/wasm/monitoring.go`), kept by the local sidecar's
 * module cache and plugin loader as the agent keeps them:
 * - `wasm_cache_entries` (gauge): modules in the cache;
 * - `wasm_cache_lookup_count{hit}`: cache lookups, hit true/false;
 * - `wasm_remote_fetch_count{result}`: remote fetches, result success | download_failure |
 *   manifest_failure | checksum_mismatched | fetch_failure;
 * - `wasm_config_conversion_count{result}`: plugin configs converted to local modules, result
 *   success | fetch_failure (| no_remote_load, for file:// modules that need no fetch).
 * `render()` writes them as istio-agent serves them on :15020/stats/prometheus: prefix
 * `istio_agent_`, no `_total` suffix.
 */

export type FetchResult = "success" | "download_failure" | "manifest_failure" | "checksum_mismatched" | "fetch_failure";
export type ConversionResult = "success" | "no_remote_load" | "fetch_failure";

const PREFIX = "istio_agent_";

export class AgentMetrics {
  private readonly counters = new Map<string, Map<string, number>>();
  private cacheEntries = 0;

  private inc(name: string, label: string, value: string): void {
    let series = this.counters.get(name);
    if (!series) this.counters.set(name, (series = new Map()));
    const key = `${label}=${value}`;
    series.set(key, (series.get(key) ?? 0) + 1);
  }

  remoteFetch(result: FetchResult): void {
    this.inc("wasm_remote_fetch_count", "result", result);
  }

  cacheLookup(hit: boolean): void {
    this.inc("wasm_cache_lookup_count", "hit", String(hit));
  }

  configConversion(result: ConversionResult): void {
    this.inc("wasm_config_conversion_count", "result", result);
  }

  setCacheEntries(n: number): void {
    this.cacheEntries = n;
  }

  /** A counter's value, e.g. `value("wasm_remote_fetch_count", { result: "success" })`. */
  value(name: string, labels: Record<string, string>): number {
    const [[label, v]] = Object.entries(labels) as [[string, string]];
    return this.counters.get(name)?.get(`${label}=${v}`) ?? 0;
  }

  get entries(): number {
    return this.cacheEntries;
  }

  /** Prometheus text exposition, families sorted by name, series by label. */
  render(): string {
    let out = `# TYPE ${PREFIX}wasm_cache_entries gauge\n${PREFIX}wasm_cache_entries ${this.cacheEntries}\n`;
    for (const name of [...this.counters.keys()].sort()) {
      out += `# TYPE ${PREFIX}${name} counter\n`;
      for (const key of [...this.counters.get(name)!.keys()].sort()) {
        const [label, value] = key.split(/=(.*)/s) as [string, string];
        out += `${PREFIX}${name}{${label}="${value}"} ${this.counters.get(name)!.get(key)}\n`;
      }
    }
    return out;
  }
}
