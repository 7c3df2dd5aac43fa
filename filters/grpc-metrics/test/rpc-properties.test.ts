/**
 * Property tests of grpc-metrics in the proxy-wasm host:
 *  - streams of known message counts under arbitrary chunkings count exactly;
 *  - 100,000 random request/response sequences (headers, body chunks of random bytes or frames,
 *    trailers, resets, local replies, in random order and sizes) never trap, never alter traffic,
 *    and keep every series consistent: started = handled + in_flight;
 *  - a client cycling through a million random paths leaves the number of series bounded.
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { TestStream, type Sink } from "../../../manager/src/sidecar/host/index.ts";
import { PassThroughFilter } from "../../../manager/src/sidecar/http/filter.ts";
import {
  OK_HEADERS,
  allSeries,
  checkConsistency,
  filterWasm,
  frames,
  loadFilter,
  open,
  requestHeaders,
  total,
} from "./host-harness.ts";

beforeAll(async () => {
  await filterWasm();
}, 120_000);

/** Splits `bytes` at the given offsets (taken modulo its length + 1). */
function chunks(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of [...points, bytes.length]) {
    if (p > prev) out.push(bytes.subarray(prev, p));
    prev = p;
  }
  return out;
}

describe("message counts under any chunking", () => {
  it("counts every complete message and its payload bytes, in both directions (property)", async () => {
    const f = await loadFilter();
    const lengths = fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 41, max: 3000 })), { maxLength: 12 });
    let expected = { reqMsgs: 0n, respMsgs: 0n, reqBytes: 0n, respBytes: 0n, rpcs: 0n };
    await fc.assert(
      fc.asyncProperty(lengths, lengths, fc.array(fc.nat(), { maxLength: 20 }), fc.array(fc.nat(), { maxLength: 20 }), async (req, resp, reqCuts, respCuts) => {
        const s = open(f.plugin);
        s.sendRequestHeaders(requestHeaders("/meshwasm.demo.v1.Echo/Bidi"));
        const reqChunks = chunks(frames(req), reqCuts);
        reqChunks.forEach((c, i) => s.sendRequestBody(c, i === reqChunks.length - 1));
        if (reqChunks.length === 0) s.sendRequestBody(new Uint8Array(0), true);
        s.sendResponseHeaders(OK_HEADERS);
        for (const c of chunks(frames(resp), respCuts)) s.sendResponseBody(c);
        s.sendResponseTrailers([["grpc-status", "0"]]);
        s.complete();
        expected = {
          reqMsgs: expected.reqMsgs + BigInt(req.length),
          respMsgs: expected.respMsgs + BigInt(resp.length),
          reqBytes: expected.reqBytes + BigInt(req.reduce((a, b) => a + b, 0)),
          respBytes: expected.respBytes + BigInt(resp.reduce((a, b) => a + b, 0)),
          rpcs: expected.rpcs + 1n,
        };
        expect(total(f.env, "grpc_server_msg_received_total")).toBe(expected.reqMsgs);
        expect(total(f.env, "grpc_server_msg_sent_total")).toBe(expected.respMsgs);
        expect(total(f.env, "grpc_server_msg_received_bytes_total")).toBe(expected.reqBytes);
        expect(total(f.env, "grpc_server_msg_sent_bytes_total")).toBe(expected.respBytes);
        expect(total(f.env, "grpc_server_handled_total", { grpc_code: "OK" })).toBe(expected.rpcs);
      }),
      { numRuns: 400 },
    );
  });

  it("skips the payload of large messages without reading it: one host read per message, not per chunk", async () => {
    const f = await loadFilter();
    const vm = f.plugin.workerVms()[0]!;
    const body = frames([4 * 1024 * 1024, 3, 2 * 1024 * 1024]);
    const s = open(f.plugin);
    s.sendRequestHeaders(requestHeaders("/meshwasm.demo.v1.Echo/ClientStream"));
    const before = vm.hostCalls;
    const chunk = 16 * 1024;
    for (let o = 0; o < body.length; o += chunk) s.sendRequestBody(body.subarray(o, Math.min(body.length, o + chunk)), o + chunk >= body.length);
    const reads = vm.hostCalls - before;
    s.sendResponseHeaders([...OK_HEADERS, ["grpc-status", "0"]], true);
    s.complete();
    // 385 chunks; a read where a message starts (the 3-byte message starts in the chunk where the
    // first one ends, and the third right after it), nothing for chunks inside a payload.
    expect(reads).toBeLessThanOrEqual(4);
    expect(total(f.env, "grpc_server_msg_received_total")).toBe(3n);
    expect(total(f.env, "grpc_server_msg_received_bytes_total")).toBe(BigInt(6 * 1024 * 1024 + 3));
    expect(s.upstream.body.length).toBe(body.length);
  });

  it("a 4 GiB length prefix, reserved flag bits and a cut-off message only move counters", async () => {
    const f = await loadFilter();
    const huge = new Uint8Array([0, 0xff, 0xff, 0xff, 0xff, 1, 2, 3]);
    const reserved = new Uint8Array([0x80, 0, 0, 0, 1, 9]);
    for (const body of [huge, reserved, frames([10]).subarray(0, 9)]) {
      const s = open(f.plugin);
      s.sendRequestHeaders(requestHeaders("/meshwasm.demo.v1.Echo/Unary"));
      s.sendRequestBody(body, true);
      s.sendResponseHeaders([...OK_HEADERS, ["grpc-status", "3"]], true);
      s.complete();
      expect(s.upstream.body.toUint8Array()).toEqual(body);
    }
    expect(total(f.env, "grpc_server_handled_total", { grpc_code: "InvalidArgument" })).toBe(3n);
    expect(total(f.env, "grpc_server_msg_received_total")).toBe(0n);
    expect(total(f.env, "grpc_metrics_frame_errors_total")).toBe(1n);
    expect(f.plugin.workerVms()[0]!.failed).toBe(false);
  });
});

type Step =
  | { k: "reqHeaders"; grpc: boolean; path: string; eos: boolean }
  | { k: "reqBody"; bytes: Uint8Array; eos: boolean }
  | { k: "reqTrailers" }
  | { k: "respHeaders"; status: string; grpcStatus?: string; eos: boolean }
  | { k: "respBody"; bytes: Uint8Array; eos: boolean }
  | { k: "respTrailers"; grpcStatus?: string }
  | { k: "reset" }
  | { k: "localReply"; status: number };

const pathArb = fc.oneof(
  fc.constantFrom("/a.B/C", "/a.B/D", "/x.y.Z/W", "/", "//", "/a.B/", "no-slash"),
  fc.string({ maxLength: 30 }).map((s) => `/${s}`),
  fc.tuple(fc.stringMatching(/^[a-z]{1,4}(\.[A-Z][a-z]{0,3})?$/), fc.stringMatching(/^[A-Z][a-z]{0,5}$/)).map(([s, m]) => `/${s}/${m}`),
);
const bytesArb = fc.oneof(
  fc.uint8Array({ maxLength: 64 }),
  fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 4 }).map((l) => frames(l)),
  fc.constant(new Uint8Array([0, 0xff, 0xff, 0xff, 0xf0])),
);
const statusArb = fc.oneof(fc.integer({ min: 0, max: 16 }).map(String), fc.constantFrom("99", "-1", "abc", "", "007", " 4"));
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ k: fc.constant("reqHeaders" as const), grpc: fc.boolean(), path: pathArb, eos: fc.boolean() }),
  fc.record({ k: fc.constant("reqBody" as const), bytes: bytesArb, eos: fc.boolean() }),
  fc.constant({ k: "reqTrailers" as const }),
  fc.record({ k: fc.constant("respHeaders" as const), status: fc.constantFrom("200", "503", "404", "abc"), grpcStatus: fc.option(statusArb, { nil: undefined }), eos: fc.boolean() }),
  fc.record({ k: fc.constant("respBody" as const), bytes: bytesArb, eos: fc.boolean() }),
  fc.record({ k: fc.constant("respTrailers" as const), grpcStatus: fc.option(statusArb, { nil: undefined }) }),
  fc.constant({ k: "reset" as const }),
  fc.record({ k: fc.constant("localReply" as const), status: fc.constantFrom(403, 503, 429) }),
);

/** Plays the steps; returns every status the filter answered (undefined: the stream had ended). */
function play(s: TestStream, steps: Step[]): Array<number | undefined> {
  const statuses: Array<number | undefined> = [];
  for (const st of steps) {
    switch (st.k) {
      case "reqHeaders": {
        const h = requestHeaders(st.path).filter(([k]) => st.grpc || k !== "content-type");
        statuses.push(s.sendRequestHeaders(h, st.eos));
        break;
      }
      case "reqBody":
        statuses.push(s.sendRequestBody(st.bytes, st.eos));
        break;
      case "reqTrailers":
        statuses.push(s.sendRequestTrailers([["x-t", "1"]]));
        break;
      case "respHeaders":
        statuses.push(s.sendResponseHeaders([[":status", st.status], ...(st.grpcStatus === undefined ? [] : [["grpc-status", st.grpcStatus] as [string, string]])], st.eos));
        break;
      case "respBody":
        statuses.push(s.sendResponseBody(st.bytes, st.eos));
        break;
      case "respTrailers":
        statuses.push(s.sendResponseTrailers(st.grpcStatus === undefined ? [["x-t", "1"]] : [["grpc-status", st.grpcStatus]]));
        break;
      case "reset":
        s.resetStream("remote_reset");
        break;
      case "localReply":
        s.sendLocalReply({ status: st.status, body: "denied", details: "test" });
        break;
    }
  }
  return statuses;
}

/** What left a test stream on both sides, for comparing a run with the filter against one without. */
function outcome(s: TestStream) {
  const side = (k: Sink) => ({
    headers: k.headers?.pairs(),
    body: Buffer.from(k.body.toUint8Array()).toString("hex"),
    trailers: k.trailers?.pairs(),
    end: k.endStream,
  });
  return { up: side(s.upstream), down: side(s.downstream), reply: s.localReply?.status, reset: s.resetDetails };
}

describe("random request/response sequences", () => {
  it("100,000 sequences: no trap, traffic unchanged, started = handled + in_flight for every series", async () => {
    const f = await loadFilter({ max_methods: 20 });
    const vm = () => f.plugin.workerVms()[0]!;
    const open_: TestStream[] = [];
    let runs = 0;
    fc.assert(
      fc.property(fc.array(stepArb, { minLength: 1, maxLength: 10 }), fc.boolean(), (steps, keepOpen) => {
        const s = open(f.plugin);
        // The filter never pauses: every callback answers Continue (0).
        for (const status of play(s, steps)) if (status !== undefined) expect(status).toBe(0);
        // and never alters what it passes on: the same steps without the filter give the same result.
        const control = new TestStream(new PassThroughFilter(), {});
        play(control, steps);
        expect(outcome(s)).toEqual(outcome(control));
        if (keepOpen && open_.length < 50) open_.push(s);
        else s.complete();
        expect(vm().failed).toBe(false);
        if (++runs % 10_000 === 0) {
          const c = checkConsistency(f.env);
          expect(c.inFlight).toBeLessThanOrEqual(BigInt(open_.length));
        }
      }),
      { numRuns: 100_000 },
    );
    const before = checkConsistency(f.env);
    for (const s of open_) s.complete();
    const after = checkConsistency(f.env);
    expect(after.inFlight).toBe(0n);
    expect(after.started).toBe(before.started);
    expect(after.started).toBe(after.handled);
    expect(after.started).toBeGreaterThan(10_000n);
    expect(vm().failed).toBe(false);
    expect(f.env.logs.filter((l) => l.level >= 4)).toEqual([]);
  }, 600_000);
});

describe("cardinality bound", () => {
  it("a client cycling through 1,000,000 random paths leaves at most max_methods methods and a bounded memory", async () => {
    const f = await loadFilter({ max_methods: 50 });
    const memory = () => f.plugin.workerVms()[0]!.exportedMemory().buffer.byteLength;
    const rnd = fc.sample(fc.tuple(fc.stringMatching(/^[a-z]{1,8}\.[A-Z][a-z]{1,8}$/), fc.stringMatching(/^[A-Z][a-zA-Z]{0,10}$/)), { numRuns: 2000, seed: 7 });
    let warm = 0;
    for (let i = 0; i < 1_000_000; i++) {
      const [svc, m] = rnd[i % rnd.length]!;
      const path = `/${svc}${i}/${m}${i % 97}`;
      const s = open(f.plugin);
      s.sendRequestHeaders(requestHeaders(path), true);
      s.sendResponseHeaders([...OK_HEADERS, ["grpc-status", String(i % 17)]], true);
      s.complete();
      if (i === 50_000) warm = memory();
    }
    const series = allSeries(f.env);
    const methods = new Set(series.filter((s) => s.name === "grpc_server_handled_total").map((s) => `${s.labels.grpc_service}/${s.labels.grpc_method}`));
    // 50 tracked methods, their services' "other" rows, and other/other.
    expect(methods.size).toBeLessThanOrEqual(50 + 50 + 1);
    expect(series.length).toBeLessThan(3000);
    expect(total(f.env, "grpc_server_handled_total")).toBe(1_000_000n);
    expect(total(f.env, "grpc_metrics_server_other_rpcs_total")).toBe(1_000_000n - 50n);
    expect(memory()).toBeLessThanOrEqual(warm + 4 * 1024 * 1024);
    checkConsistency(f.env);
  }, 900_000);
});
