/**
 * Test guest for grpc-balancer's pure modules: the estimator, the chooser, the table model
 * (normalisation, slow start, ORCA, ageing), the response-signal parsers and the address check,
 * exported as thin number-in number-out wrappers. The clock is whatever the test passes (a fake
 * clock in ns). Imports only `env.proxy_log` (through the SDK's abort handler).
 */
import "../../../sdk/abi/abort";
import { allocate } from "../../../sdk/abi/memory";
import { decayWeight, endpointCost, ewmaUpdate, medianInPlace, orcaCostFactor, orcaWeight, peakEwmaUpdate,
         peakEwmaValue, penaltyNs, slowStartFactor } from "../../assembly/estimator";
import { Pair, Prng, firstWins, sampleTwo } from "../../assembly/chooser";
import { Config } from "../../assembly/config";
import { Dims, Layout, Table } from "../../assembly/table";
import { ageOut, applyOrca, applyPenalty, applySample, costOf, ensureClass, ensureCluster, ensureEndpoint,
         recomputeBaselines, slowStart as slowStartOf, usableOrcaWeight } from "../../assembly/model";
import { LoadReport, parseLoadReport, pushbackNs, retryAfterNs } from "../../assembly/signals";
import { isEndpointAddress } from "../../assembly/address";

export function alloc(size: usize): usize { return allocate(size); }
export function release(ptr: usize): void { __unpin(ptr); }

// ===== estimator =====

export function decay(elapsed: f64, tau: f64): f64 { return decayWeight(elapsed, tau); }
export function ewmaValue(est: f64, at: u64, now: u64, tau: f64): f64 { return peakEwmaValue(est, at, now, tau); }
export function ewmaPeakUpdate(est: f64, at: u64, sample: f64, now: u64, tau: f64): f64 { return peakEwmaUpdate(est, at, sample, now, tau); }
export function ewmaPlainUpdate(est: f64, at: u64, has: i32, sample: f64, now: u64, tau: f64): f64 {
  return ewmaUpdate(est, at, has != 0, sample, now, tau);
}
export function penalty(has: i32, pushback: f64, base: f64, max: f64): f64 { return penaltyNs(has != 0, pushback, base, max); }
export function slowStart(age: f64, window: f64, aggression: f64, minWeight: f64): f64 { return slowStartFactor(age, window, aggression, minWeight); }
export function a58Weight(qps: f64, util: f64, eps: f64, pen: f64): f64 { return orcaWeight(qps, util, eps, pen); }
export function orcaFactor(w: f64, mean: f64, blend: f64): f64 { return orcaCostFactor(w, mean, blend); }
export function cost(base: f64, ratio: f64, inflight: i32, orca: f64): f64 { return endpointCost(base, ratio, inflight, orca); }

const medianValues = new StaticArray<f64>(256);
export function medianSet(i: i32, v: f64): void { medianValues[i] = v; }
export function median(n: i32, fallback: f64): f64 { return medianInPlace(medianValues, n, fallback); }

// ===== chooser =====

let rng = new Prng(1);
const pair = new Pair();
export function seed(s: u64): void { rng = new Prng(s); }
export function nextU32(): u32 { return rng.nextU32(); }
export function nextUnit(): f64 { return rng.nextUnit(); }
export function below(n: u32): u32 { return rng.below(n); }
export function chance(p: f64): i32 { return rng.chance(p) ? 1 : 0; }
/** Samples two positions of [0, n): first * 65536 + second. */
export function sample2(n: i32): i32 { sampleTwo(rng, n, pair); return pair.first * 65536 + pair.second; }
/** P2C over `costs[0..n)` (set with medianSet): the index kept. */
export function p2c(n: i32): i32 {
  sampleTwo(rng, n, pair);
  return firstWins(medianValues[pair.first], medianValues[pair.second]) ? pair.first : pair.second;
}

// ===== table model =====

let cfg = new Config();
let table = new Table(new Layout(new Dims(8, 4, 2, 2)));
const scratch = new StaticArray<f64>(1024);

/** A fresh table of `endpoints` × `classes` with the given estimator settings (ms). */
export function modelInit(endpoints: i32, classes: i32, normalize: i32, tauMs: f64, defaultRttMs: f64,
                          windowMs: f64, aggression: f64, minWeight: f64, ttlMs: f64): void {
  cfg = new Config();
  cfg.normalizeMethods = normalize != 0;
  cfg.tauNs = tauMs * 1e6;
  cfg.defaultRttNs = defaultRttMs * 1e6;
  cfg.slowStartWindowNs = windowMs * 1e6;
  cfg.slowStartAggression = aggression;
  cfg.slowStartMinWeight = minWeight;
  cfg.endpointTtlNs = <u64>(ttlMs * 1e6);
  cfg.orcaBlackoutNs = 0;
  table = new Table(new Layout(new Dims(endpoints, normalize != 0 ? classes : 1, 2, 2)));
  table.reset(7);
  const c = String.UTF8.encode("c");
  ensureCluster(table, changetype<usize>(c), c.byteLength);
}
export function modelOrcaSettings(blend: f64, blackoutMs: f64, expirationMs: f64): void {
  cfg.orcaBlend = blend;
  cfg.orcaBlackoutNs = blackoutMs * 1e6;
  cfg.orcaExpirationNs = expirationMs * 1e6;
}
/** Endpoint "10.0.0.<i>:80" seen at `now`; returns its slot. */
export function modelEndpoint(i: i32, now: u64, isStatic: i32): i32 {
  const a = String.UTF8.encode("10.0.0." + i.toString() + ":80");
  return ensureEndpoint(table, 0, changetype<usize>(a), a.byteLength, isStatic != 0 ? 1 : 0, now);
}
/** Method class "/svc/m<i>"; returns its slot. */
export function modelClass(i: i32): i32 {
  const m = String.UTF8.encode("/svc/m" + i.toString());
  return ensureClass(table, changetype<usize>(m), m.byteLength, false);
}
export function modelSample(e: i32, c: i32, latencyNs: f64, now: u64): void { applySample(table, cfg, e, c, latencyNs, now); }
export function modelPenalty(e: i32, c: i32, ns: f64, now: u64): void { applyPenalty(table, cfg, e, c, ns, now); }
export function modelOrca(e: i32, weight: f64, now: u64): void { applyOrca(table, cfg, e, weight, now); }
export function modelOrcaWeight(e: i32, now: u64): f64 { return usableOrcaWeight(table, cfg, e, now); }
export function modelRecompute(now: u64): void { recomputeBaselines(table, cfg, now, scratch); }
export function modelBaseline(c: i32): f64 { return table.classBaseline(c); }
export function modelRatio(e: i32): f64 { return table.ratio(e); }
export function modelCost(e: i32, c: i32, inflight: i32, meanOrca: f64, now: u64): f64 { return costOf(table, cfg, e, c, inflight, meanOrca, now); }
export function modelSlowStart(e: i32, now: u64): f64 { return slowStartOf(table, cfg, e, now); }
export function modelAge(now: u64): i32 { return ageOut(table, cfg, now); }
export function modelUsed(e: i32): i32 { return table.used(e) ? 1 : 0; }
export function modelGen(e: i32): i32 { return table.gen(e); }
export function modelSetInflight(v: i32, e: i32, n: i32): void { table.setInflight(v, e, n); }

// ===== signals and addresses =====

export function pushback(ptr: usize, len: i32, negative: f64): f64 { return pushbackNs(ptr, len, negative); }
export function retryAfter(ptr: usize, len: i32, now: u64): f64 { return retryAfterNs(ptr, len, now); }
const report = new LoadReport();
/** Parses a load report; the A58 weight with penalty 1, or -1 when not a report. */
export function loadReport(ptr: usize, len: i32): f64 {
  const b = new ArrayBuffer(len);
  memory.copy(changetype<usize>(b), ptr, <usize>len);
  return parseLoadReport(b, report) ? report.weight(1.0) : -1;
}
export function reportCpu(): f64 { return report.cpu; }
export function reportApplication(): f64 { return report.application; }
export function reportQps(): f64 { return report.qps; }
export function reportEps(): f64 { return report.eps; }
export function address(ptr: usize, len: i32): i32 { return isEndpointAddress(ptr, len) ? 1 : 0; }
