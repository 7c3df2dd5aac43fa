/**
 * The issue's goals for grpc-balancer, checked against one run (pure): each verdict is "met" or
 * "not met" with the measured figure next to the bar.
 *  (a) p99 at most 1/3 of LEAST_REQUEST's and at most 1/5 of ROUND_ROBIN's (whole run);
 *  (b) at most 5% of the RPCs scheduled during the failure window reach the failing backend;
 *  (c) p50 at most 10% above LEAST_REQUEST's;
 *  (d) the added backend reaches its share (1/11; analysis.ts `timeToShare`) within 5 s of being
 *      added, ramping: in the first second after it first served an RPC it got less than half
 *      of its share;
 *  (e) the backend slow for every method gets less than half its fair share (1/10), while for
 *      each method the healthy backends stay balanced: every one within ±25% of their mean share.
 */
import type { Policy } from "../../balancer/support/bootstrap.ts";
import { between, firstServed, maxDeviation, shareOf, shareProfile, shares, summarize, timeToShare, type LatencySummary, type Rpc } from "./analysis.ts";
import type { Scenario } from "./scenarios.ts";

export interface PolicyRun {
  policy: Policy;
  rpcs: Rpc[];
  /** grpc-balancer only: RPCs it directed to the subject backend during its window (its picks counter). */
  directedToSubject?: number;
}

export interface Verdict {
  met: boolean;
  text: string;
}

/** Bars of the balanced-ness check in (e) and of the ramp in (d). */
export const BALANCED_DEVIATION = 0.25;
export const RAMP_FIRST_SECOND = 0.5;
export const SHARE_DEADLINE_S = 5;

const ms = (v: number) => (Number.isFinite(v) ? `${v.toFixed(1)} ms` : "∞");
const pct = (v: number) => `${(v * 100).toFixed(2)}%`;
const goal = (met: boolean) => (met ? "met" : "not met");

export function backendIndex(s: Scenario, name: string): number {
  const i = s.backends.findIndex((b) => b.name === name);
  if (i < 0) throw new Error(`scenario ${s.id}: no backend ${name}`);
  return i;
}

export const isBalancer = (p: Policy) => p === "BALANCER_SESSION" || p === "BALANCER_OVERRIDE";

/** (d): when the subject first served, its time to share and its first-second share, per policy. */
export function addedBackend(s: Scenario, run: PolicyRun): { firstS: number | null; toShareS: number | null; firstSecond: number | null } {
  const e = backendIndex(s, s.subject!);
  const [from, until] = s.window!;
  const fair = 1 / s.backends.length;
  const first = firstServed(run.rpcs, e, from);
  const toShareS = timeToShare(run.rpcs, e, from, until, fair);
  const firstSecond = first === null ? null : shareProfile(run.rpcs, e, first, 1, 1, fair)[0]!;
  return { firstS: first === null ? null : first - from, toShareS, firstSecond };
}

/** (e): per method, the subject's share and the healthy backends' largest deviation from their mean. */
export function methodBalance(s: Scenario, run: PolicyRun): Array<{ method: string; slowShare: number; healthyDeviation: number; shares: number[] }> {
  const slow = backendIndex(s, s.subject!);
  return ["Light", "Heavy"].map((method, m) => {
    const all = shares(run.rpcs.filter((r) => r.method === m), s.backends.length);
    const healthy = all.filter((_, i) => i !== slow);
    return { method, slowShare: all[slow]!, healthyDeviation: maxDeviation(healthy), shares: all };
  });
}

export function verdicts(s: Scenario, runs: PolicyRun[]): Array<{ policy: Policy; verdict: Verdict }> {
  const summary = new Map<Policy, LatencySummary>(runs.map((r) => [r.policy, summarize(r.rpcs, s.deadlineMs)]));
  const rr = summary.get("ROUND_ROBIN");
  const lr = summary.get("LEAST_REQUEST");
  return runs.filter((r) => isBalancer(r.policy)).map((run) => {
    const me = summary.get(run.policy)!;
    let verdict: Verdict;
    switch (s.id) {
      case "a": {
        const vsLr = lr ? me.p99 / lr.p99 : NaN;
        const vsRr = rr ? me.p99 / rr.p99 : NaN;
        const met = vsLr <= 1 / 3 && vsRr <= 1 / 5;
        verdict = {
          met,
          text: `p99 ${ms(me.p99)} = ${vsLr.toFixed(2)}× LEAST_REQUEST's ${ms(lr?.p99 ?? NaN)} (bar 0.33×) and ${vsRr.toFixed(2)}× ROUND_ROBIN's ${ms(rr?.p99 ?? NaN)} (bar 0.20×): ${goal(met)}`,
        };
        break;
      }
      case "b": {
        const share = shareOf(between(run.rpcs, s.window![0], s.window![1]), backendIndex(s, s.subject!));
        verdict = { met: share <= 0.05, text: `${pct(share)} of the window's RPCs to the failing backend (bar 5%): ${goal(share <= 0.05)}` };
        break;
      }
      case "c": {
        const ratio = lr ? me.p50 / lr.p50 : NaN;
        verdict = { met: ratio <= 1.1, text: `p50 ${ms(me.p50)} = ${ratio.toFixed(2)}× LEAST_REQUEST's ${ms(lr?.p50 ?? NaN)} (bar 1.10×): ${goal(ratio <= 1.1)}` };
        break;
      }
      case "d": {
        const a = addedBackend(s, run);
        const inTime = a.toShareS !== null && a.toShareS <= SHARE_DEADLINE_S;
        const ramps = a.firstSecond !== null && a.firstSecond < RAMP_FIRST_SECOND;
        const met = inTime && ramps;
        verdict = {
          met,
          text:
            `share reached ${a.toShareS === null ? "never" : `${a.toShareS.toFixed(1)} s`} after the add (bar ${SHARE_DEADLINE_S} s); ` +
            `first second after its first RPC: ${a.firstSecond === null ? "no RPC" : `${(a.firstSecond * 100).toFixed(0)}% of its share`} ` +
            `(ramping: bar < ${RAMP_FIRST_SECOND * 100}%): ${goal(met)}`,
        };
        break;
      }
      case "e": {
        const slowShare = shareOf(run.rpcs, backendIndex(s, s.subject!));
        const fair = 1 / s.backends.length;
        const perMethod = methodBalance(s, run);
        const worst = Math.max(...perMethod.map((m) => m.healthyDeviation));
        const met = slowShare < fair / 2 && worst <= BALANCED_DEVIATION;
        verdict = {
          met,
          text:
            `slow backend ${pct(slowShare)} of RPCs (bar < ${pct(fair / 2)}); healthy backends within ±${(worst * 100).toFixed(0)}% ` +
            `of their mean share per method (bar ±${BALANCED_DEVIATION * 100}%): ${goal(met)}`,
        };
        break;
      }
    }
    return { policy: run.policy, verdict };
  });
}
