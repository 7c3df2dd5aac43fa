/**
 * grpc-balancer's metrics (README.md "Metrics"), defined at configure time. Labels use Istio's
 * `name=.=value;.;` convention through the SDK's MetricFamily; the per-endpoint series ids are
 * cached per table slot (and refreshed when a slot changes hands), so a stream increments by id.
 *
 *   grpc_balancer_rpcs_total{decision}                 directed | explored | pinned | passthrough
 *   grpc_balancer_picks_total{cluster,endpoint}        RPCs directed to each endpoint
 *   grpc_balancer_penalties_total{cluster,endpoint}    failures recorded as a penalty
 *   grpc_balancer_endpoint_cost{cluster,endpoint}      gauge: cost of one more RPC, in millionths
 *                                                      of an idle endpoint at the class median
 *                                                      (1,000,000 = typical and idle)
 *   grpc_balancer_endpoint_in_flight{cluster,endpoint} gauge: RPCs in flight (every VM)
 *   grpc_balancer_endpoints{cluster}                   gauge: usable endpoints
 *   grpc_balancer_discovery_total{result}              ok | error
 *   grpc_balancer_fold_conflicts_total                 CAS retries of the fold
 *   grpc_balancer_events_dropped_total                 observations lost to a full buffer
 */
import { MetricFamily } from "../../sdk/metrics";
import { MetricType } from "../../sdk/abi/imports";
import { defineMetric, incrementMetric, recordMetric } from "../../sdk/hostcalls";
import { Balancer } from "./endpoints";
import { baselineNs } from "./model";

export const DECISION_DIRECTED: i32 = 0;
export const DECISION_EXPLORED: i32 = 1;
export const DECISION_PINNED: i32 = 2;
export const DECISION_PASSTHROUGH: i32 = 3;
const DECISIONS: Array<string> = ["directed", "explored", "pinned", "passthrough"];

export class Stats {
  readonly rpcs: MetricFamily;
  readonly picks: MetricFamily;
  readonly penalties: MetricFamily;
  readonly cost: MetricFamily;
  readonly inflight: MetricFamily;
  readonly endpoints: MetricFamily;
  readonly discovery: MetricFamily;
  readonly decisionIds: StaticArray<u32> = new StaticArray<u32>(4);
  discoveryOk: u32 = 0;
  discoveryError: u32 = 0;
  foldConflicts: u32 = 0;
  eventsDropped: u32 = 0;
  private pickIds: StaticArray<u32>;
  private penaltyIds: StaticArray<u32>;
  private costIds: StaticArray<u32>;
  private inflightIds: StaticArray<u32>;
  private keys: StaticArray<i32>;
  private clusterIds: StaticArray<u32>;
  private readonly two: StaticArray<string> = new StaticArray<string>(2);
  private readonly one: StaticArray<string> = new StaticArray<string>(1);
  private droppedSeen: u64 = 0;

  constructor(maxEndpoints: i32, maxClusters: i32, maxSeries: i32) {
    const ce: StaticArray<string> = ["cluster", "endpoint"];
    this.rpcs = new MetricFamily(MetricType.Counter, "grpc_balancer_rpcs_total", ["decision"], 4);
    this.picks = new MetricFamily(MetricType.Counter, "grpc_balancer_picks_total", ce, maxSeries);
    this.penalties = new MetricFamily(MetricType.Counter, "grpc_balancer_penalties_total", ce, maxSeries);
    this.cost = new MetricFamily(MetricType.Gauge, "grpc_balancer_endpoint_cost", ce, maxSeries);
    this.inflight = new MetricFamily(MetricType.Gauge, "grpc_balancer_endpoint_in_flight", ce, maxSeries);
    this.endpoints = new MetricFamily(MetricType.Gauge, "grpc_balancer_endpoints", ["cluster"], maxClusters + 1);
    this.discovery = new MetricFamily(MetricType.Counter, "grpc_balancer_discovery_total", ["result"], 2);
    this.pickIds = new StaticArray<u32>(maxEndpoints);
    this.penaltyIds = new StaticArray<u32>(maxEndpoints);
    this.costIds = new StaticArray<u32>(maxEndpoints);
    this.inflightIds = new StaticArray<u32>(maxEndpoints);
    this.keys = new StaticArray<i32>(maxEndpoints);
    this.clusterIds = new StaticArray<u32>(maxClusters);
  }

  /** Defines the fixed series; false when the host refused one. */
  define(): bool {
    const one = this.one;
    for (let i = 0; i < 4; i++) { one[0] = DECISIONS[i]; this.decisionIds[i] = this.rpcs.id(one); }
    one[0] = "ok"; this.discoveryOk = this.discovery.id(one);
    one[0] = "error"; this.discoveryError = this.discovery.id(one);
    this.foldConflicts = defineMetric(MetricType.Counter, "grpc_balancer_fold_conflicts_total");
    this.eventsDropped = defineMetric(MetricType.Counter, "grpc_balancer_events_dropped_total");
    return this.decisionIds[0] != 0 && this.discoveryOk != 0 && this.foldConflicts != 0 && this.eventsDropped != 0;
  }

  decision(d: i32): void { incrementMetric(unchecked(this.decisionIds[d]), 1); }
  pick(e: i32): void { incrementMetric(unchecked(this.pickIds[e]), 1); }
  penalty(e: i32): void { incrementMetric(unchecked(this.penaltyIds[e]), 1); }

  /** After a fold: series for slots that changed hands, then the gauges. */
  publish(b: Balancer, now: u64): void {
    const t = b.local;
    const two = this.two;
    for (let e = 0, n = b.dims.endpoints; e < n; e++) {
      const key = t.used(e) ? (<i32>t.gen(e) << 1) | 1 : 0;
      if (key != unchecked(this.keys[e])) {
        const old = unchecked(this.costIds[e]);
        if (old != 0) { recordMetric(old, 0); recordMetric(unchecked(this.inflightIds[e]), 0); }
        unchecked(this.keys[e] = key);
        if (key == 0) {
          unchecked(this.pickIds[e] = 0); unchecked(this.penaltyIds[e] = 0);
          unchecked(this.costIds[e] = 0); unchecked(this.inflightIds[e] = 0);
          continue;
        }
        two[0] = String.UTF8.decodeUnsafe(t.clusterNamePtr(t.cluster(e)), <usize>t.clusterNameLen(t.cluster(e)));
        two[1] = String.UTF8.decodeUnsafe(t.addressPtr(e), <usize>t.addressLen(e));
        unchecked(this.pickIds[e] = this.picks.id(two));
        unchecked(this.penaltyIds[e] = this.penalties.id(two));
        unchecked(this.costIds[e] = this.cost.id(two));
        unchecked(this.inflightIds[e] = this.inflight.id(two));
      }
      if (key == 0) continue;
      // Cost of one more RPC relative to an idle endpoint at the class median, in millionths:
      // the smallest ratio the estimator keeps (1e-6) still reads 1.
      const cost = b.cost(e, 0, now) / baselineNs(t, b.cfg, 0);
      recordMetric(unchecked(this.costIds[e]), <i64>Math.min(Math.round(cost * 1e6), 9.0e15));
      recordMetric(unchecked(this.inflightIds[e]), b.inflightOf(e));
    }
    const one = this.one;
    for (let k = 0, n = b.dims.clusters; k < n; k++) {
      if (!t.clusterUsed(k)) continue;
      let id = unchecked(this.clusterIds[k]);
      if (id == 0) {
        one[0] = String.UTF8.decodeUnsafe(t.clusterNamePtr(k), <usize>t.clusterNameLen(k));
        id = this.endpoints.id(one);
        unchecked(this.clusterIds[k] = id);
      }
      recordMetric(id, b.usableIn(k));
    }
    const dropped = b.events.dropped;
    if (dropped > this.droppedSeen) { incrementMetric(this.eventsDropped, dropped - this.droppedSeen); this.droppedSeen = dropped; }
  }
}
