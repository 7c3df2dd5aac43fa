import { describe, expect, it } from "vitest";
import { WasmResult } from "./abi.ts";
import { SharedState, defaultSharedState } from "./shared-state.ts";

describe("SharedState", () => {
  it("holds shared data, queues and a VM cache, with separate CAS and queue-id counters", () => {
    const posted: Array<() => void> = [];
    const s = new SharedState((cb) => posted.push(cb));
    s.data.set("vm", "k", new Uint8Array([1]), 0);
    s.data.set("vm", "k", new Uint8Array([2]), 0);
    expect(s.data.get("vm", "k").cas).toBe(2);
    const id = s.queues.register("vm", "q", () => {});
    expect(id).toBe(1);
    expect(s.queues.enqueue(id, new Uint8Array([1]))).toBe(WasmResult.Ok);
    expect(posted).toHaveLength(1);
    s.vmCache.set("key", 1);
    expect(s.vmCache.get("key")).toBe(1);
  });

  it("keeps instances independent", () => {
    const a = new SharedState();
    const b = new SharedState();
    a.data.set("vm", "k", new Uint8Array([1]), 0);
    expect(b.data.get("vm", "k").result).toBe(WasmResult.NotFound);
  });

  it("defaults post to after the current call stack", async () => {
    const s = new SharedState();
    const seen: number[] = [];
    const id = s.queues.register("vm", "q", (qid) => seen.push(qid));
    s.queues.enqueue(id, new Uint8Array([1]));
    expect(seen).toEqual([]);
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual([id]);
  });

  it("exports one process-wide default", () => {
    expect(defaultSharedState).toBeInstanceOf(SharedState);
  });
});
