/**
 * The "Balancer" row of the gRPC dashboard: what grpc-balancer decided and why, from its metrics
 * (balancer-queries.ts). A collapsed row holding its panels (Grafana's JSON model keeps a row's
 * panels inside it only when collapsed), with fixed panel ids from 201, so the main dashboard's
 * numbering of its own panels is unaffected:
 *
 *   Picks per endpoint            RPCs/s directed to each endpoint
 *   Cost per endpoint             the cost P2C compares, relative to an idle typical endpoint
 *   Directed vs explored          RPCs/s by decision, and the directed share
 *   Penalties recorded            failures (UNAVAILABLE, 5xx, resets, ...) per second per endpoint
 *   In flight per endpoint        RPCs in flight as the balancer counts them
 *
 * Pure: the same call gives the same JSON.
 */
import * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import { graph, target } from "./panels.ts";
import { BALANCER_QUERIES } from "./balancer-queries.ts";

const FIRST_PANEL_ID = 201;

/** A shared graph panel with this row's panel id. */
const numberedGraph = (id: number, ...args: Parameters<typeof graph>) => graph(...args).id(id);

/** The Balancer row with its panels (collapsed). */
export function balancerRow(): dashboard.RowBuilder {
  let id = FIRST_PANEL_ID;
  const endpoint = "{{endpoint}} ({{cluster}})";
  return new dashboard.RowBuilder("Balancer")
    .withPanel(numberedGraph(id++, "Picks per endpoint", "reqps",
      "RPCs per second grpc-balancer directed to each endpoint (grpc_balancer_picks_total), summed over the calling pods. A slow or failing endpoint should fall well below its fair share.",
      [target(BALANCER_QUERIES.picksByEndpoint, endpoint)]))
    .withPanel(numberedGraph(id++, "Cost per endpoint", "none",
      "The cost power-of-two-choices compares: peak-EWMA latency relative to the method's median × (in flight + 1) × the ORCA factor; 1 is an idle endpoint of typical latency. A failure penalty shows as a spike that decays (τ = decay_ms). Averaged over the calling pods (grpc_balancer_endpoint_cost / 1e6).",
      [target(BALANCER_QUERIES.costByEndpoint, endpoint)]))
    .withPanel(numberedGraph(id++, "Directed vs explored", "reqps",
      "RPCs per second by decision (grpc_balancer_rpcs_total): directed by the filter; explored (left to Envoy's balancer, explore_share, to find new and recovered pods); pinned (the caller's own session header); passthrough (no usable state: Envoy chose).",
      [target(BALANCER_QUERIES.rpcsByDecision, "{{decision}}")]))
    .withPanel(numberedGraph(id++, "Directed share", "percentunit",
      "Share of the RPCs the filter saw that it directed; about 1 − explore_share once endpoints are known.",
      [target(BALANCER_QUERIES.directedShare, "directed")]))
    .withPanel(numberedGraph(id++, "Penalties recorded", "ops",
      "Failures recorded as a penalised latency per second, per endpoint (grpc_balancer_penalties_total): gRPC UNKNOWN, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, INTERNAL, UNAVAILABLE, DATA_LOSS, HTTP 5xx, resets and connect failures, and retries that moved an RPC off its endpoint.",
      [target(BALANCER_QUERIES.penaltiesByEndpoint, endpoint)]))
    .withPanel(numberedGraph(id++, "In flight per endpoint", "short",
      "RPCs in flight per endpoint as the balancer counts them (every worker VM of each pod), summed over the calling pods (grpc_balancer_endpoint_in_flight).",
      [target(BALANCER_QUERIES.inFlightByEndpoint, endpoint)]));
}
