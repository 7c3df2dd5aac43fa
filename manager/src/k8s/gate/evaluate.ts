/**
 * The health gate's verdict (pure): readings taken at the start (t0) and end (t1) of a wave's
 * bake time against the thresholds of the deployment file. Every reading is a line of text for
 * the user and the history; the first failing one is the reason the gate failed, in this order:
 * module fetch failures, configuration rejections, deny-all fallbacks, too little traffic, server
 * error ratio, p99 latency.
 */
import type { GateConfig } from "../render/config.ts";

export interface CounterReadings {
  requests: number;
  serverErrors: number;
  fetchFailures: number;
  configRejections: number;
  denyFallback: number;
}

export interface GateVerdict {
  passed: boolean;
  readings: string[];
  failure?: string;
}

/** Counter difference; a counter that went down was reset and counts from zero. */
export function counterDelta(before: number, after: number): number {
  if (!Number.isFinite(after)) return 0;
  return after >= before ? after - before : after;
}

const fmt = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(3));

export function judge(config: GateConfig, before: CounterReadings, after: CounterReadings, p99Ms: number | undefined, pods: string[]): GateVerdict {
  const d = (k: keyof CounterReadings) => counterDelta(before[k], after[k]);
  const checks: Array<{ ok: boolean; text: string }> = [];
  const fetches = d("fetchFailures");
  checks.push({ ok: fetches === 0, text: `module fetch failures (istio_agent_wasm_remote_fetch_count{result!="success"}) ${fmt(fetches)} ${fetches === 0 ? "=" : ">"} 0` });
  const rejections = d("configRejections");
  checks.push({ ok: rejections === 0, text: `configurations Envoy rejected (ECDS config_fail) ${fmt(rejections)} ${rejections === 0 ? "=" : ">"} 0` });
  const denied = d("denyFallback");
  checks.push({ ok: denied === 0, text: `requests denied by istio-agent's deny-all fallback ${fmt(denied)} ${denied === 0 ? "=" : ">"} 0` });
  const requests = d("requests");
  const errors = Math.min(d("serverErrors"), requests);
  checks.push({ ok: requests >= config.minRequests, text: `gRPC requests from ${pods.length} pod(s) ${fmt(requests)} ${requests >= config.minRequests ? ">=" : "<"} ${config.minRequests} (minRequests)` });
  if (requests > 0) {
    const ratio = errors / requests;
    checks.push({ ok: ratio <= config.maxErrorRatio, text: `server error ratio ${ratio.toFixed(3)} (${fmt(errors)} of ${fmt(requests)} RPCs) ${ratio <= config.maxErrorRatio ? "<=" : ">"} ${config.maxErrorRatio}` });
  }
  if (config.maxLatencyP99Ms !== undefined && p99Ms !== undefined && Number.isFinite(p99Ms)) {
    checks.push({ ok: p99Ms <= config.maxLatencyP99Ms, text: `p99 latency ${p99Ms.toFixed(1)} ms ${p99Ms <= config.maxLatencyP99Ms ? "<=" : ">"} ${config.maxLatencyP99Ms} ms` });
  }
  const failed = checks.find((c) => !c.ok);
  return { passed: failed === undefined, readings: checks.map((c) => c.text), ...(failed ? { failure: failed.text } : {}) };
}
