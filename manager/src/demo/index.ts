/** Public API of the demo mesh pieces: backends, clients, protos, traffic and its report. */
export * from "./services/index.ts";
export {
  formatTrafficReport,
  runTraffic,
  statusName,
  TRAFFIC_METHODS,
  type LatencySummary,
  type TrafficError,
  type TrafficMixEntry,
  type TrafficOptions,
  type TrafficReport,
} from "./traffic.ts";
export { percentile, summarizeLatencies } from "./latency.ts";
