/**
 * grpc-hello's metrics, declared once and defined at configure time. Labelled families use
 * Istio's `<label>=.=<value>;.;` name encoding (sdk/metrics.ts); with the stats_tags of README.md
 * they reach /stats/prometheus as labels. Envoy stores every name under `wasmcustom.`.
 */
import { MetricType } from "../../../sdk/abi/imports";
import { defineMetric } from "../../../sdk/hostcalls";
import { MetricFamily } from "../../../sdk/metrics";

/** Label value of an RPC that ended without any status (reset before a response). */
export const NO_STATUS = "NO_STATUS";

export class Stats {
  /** grpc_hello_rpcs_total{grpc_service, grpc_method, grpc_code}: RPCs by final status. Counter. */
  rpcs: MetricFamily;
  /**
   * grpc_hello_messages_total{grpc_service, grpc_method, direction}: length-prefixed messages,
   * direction "request" or "response". Counter.
   */
  messages: MetricFamily;
  /** grpc_hello_denied_total: RPCs answered locally with PERMISSION_DENIED. Counter. */
  denied: u32 = 0;
  /** grpc_hello_passthrough_total: requests that are not gRPC (or have a malformed :path). Counter. */
  passthrough: u32 = 0;
  /** grpc_hello_shared_rpcs: the RPC count all workers share (shared data), set each tick. Gauge. */
  sharedRpcs: u32 = 0;
  /** grpc_hello_shared_conflicts_total: shared-count updates given up after repeated CAS conflicts. Counter. */
  sharedConflicts: u32 = 0;

  constructor(maxSeries: i32) {
    // Label 2 (grpc_code, direction) takes a few fixed values: it keeps them when a family is full.
    this.rpcs = new MetricFamily(MetricType.Counter, "grpc_hello_rpcs_total",
      ["grpc_service", "grpc_method", "grpc_code"], maxSeries, "other", 0b100);
    this.messages = new MetricFamily(MetricType.Counter, "grpc_hello_messages_total",
      ["grpc_service", "grpc_method", "direction"], maxSeries, "other", 0b100);
  }

  /** Defines the unlabelled metrics (families define their series on first use); false if refused. */
  define(): bool {
    this.denied = defineMetric(MetricType.Counter, "grpc_hello_denied_total");
    this.passthrough = defineMetric(MetricType.Counter, "grpc_hello_passthrough_total");
    this.sharedRpcs = defineMetric(MetricType.Gauge, "grpc_hello_shared_rpcs");
    this.sharedConflicts = defineMetric(MetricType.Counter, "grpc_hello_shared_conflicts_total");
    return this.denied != 0 && this.passthrough != 0 && this.sharedRpcs != 0 && this.sharedConflicts != 0;
  }
}
