/**
 * Envoy's HTTP/2 codec stats (docs: http_conn_man/stats, "Http2 codec statistics"), rooted at
 * `http2.` for downstream connections and at `cluster.<name>.http2.` for upstream ones. The codec
 * charges the ones it has a cause for; Envoy's others (underscore headers, PRIORITY and
 * WINDOW_UPDATE floods, keepalive, flush timeouts) have no counterpart here.
 */
import type { Counter, Gauge } from "../../stats/types.ts";

export const H2_COUNTERS = [
  "header_overflow",
  "inbound_empty_frames_flood",
  "outbound_control_flood",
  "rx_messaging_error",
  "rx_reset",
  "trailers",
  "tx_reset",
] as const;
export const H2_GAUGES = ["streams_active", "pending_send_bytes"] as const;

export type H2CodecStats = Record<(typeof H2_COUNTERS)[number], Counter> & Record<(typeof H2_GAUGES)[number], Gauge>;

/** The stats, each defined through `counter` / `gauge` (which add the scope's prefix). */
export function h2CodecStats(counter: (name: string) => Counter, gauge: (name: string) => Gauge): H2CodecStats {
  const out = {} as Record<string, Counter | Gauge>;
  for (const n of H2_COUNTERS) out[n] = counter(n);
  for (const n of H2_GAUGES) out[n] = gauge(n);
  return out as H2CodecStats;
}

const noopCounter: Counter = { name: "", add() {}, inc() {}, value: () => 0n };
const noopGauge: Gauge = { name: "", set() {}, add() {}, sub() {}, value: () => 0n };

/** Stats that count nothing, for a connection given none. */
export const NO_H2_STATS: H2CodecStats = h2CodecStats(
  () => noopCounter,
  () => noopGauge,
);
