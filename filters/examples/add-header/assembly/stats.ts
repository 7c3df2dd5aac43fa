/**
 * The add-header filter's metrics, declared once and defined at configure time. Envoy exposes them
 * as `example_requests_total` in /stats (stored as `wasmcustom.example_requests_total`).
 */
import { MetricType } from "../../../sdk/abi/imports";
import { defineMetric } from "../../../sdk/hostcalls";

export class Stats {
  /** Requests seen (one per onRequestHeaders). Counter. */
  requestsTotal: u32 = 0;

  /** Defines every metric; false if the host refused one. */
  define(): bool {
    this.requestsTotal = defineMetric(MetricType.Counter, "example_requests_total");
    return this.requestsTotal != 0;
  }
}
