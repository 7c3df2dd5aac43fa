import { describe, expect, it } from "vitest";
import { WasmResult } from "./abi.ts";
import { SharedQueues } from "./shared-queue.ts";
import { VirtualClock } from "./clock.ts";

const b = (s: string) => new TextEncoder().encode(s);

function setup() {
  const clock = new VirtualClock();
  const queues = new SharedQueues((cb) => clock.post(cb));
  return { clock, queues };
}

describe("SharedQueues", () => {
  it("registers a queue with a non-zero id and resolves it by (vm_id, name)", () => {
    const { queues } = setup();
    const id = queues.register("vm", "q", () => {});
    expect(id).toBe(1);
    expect(queues.resolve("vm", "q")).toBe(1);
    expect(queues.resolve("other", "q")).toBeUndefined();
    expect(queues.resolve("vm", "other")).toBeUndefined();
    expect(queues.register("vm", "q2", () => {})).toBe(2);
    expect(queues.register("", "q", () => {})).toBe(3);
  });

  it("does not confuse names that would collide when naively concatenated", () => {
    const { queues } = setup();
    const a = queues.register("a", "bc", () => {});
    const c = queues.register("ab", "c", () => {});
    expect(a).not.toBe(c);
  });

  it("enqueue posts on_queue_ready asynchronously, once per value; dequeue is FIFO", () => {
    const { clock, queues } = setup();
    const ready: number[] = [];
    const id = queues.register("vm", "q", (qid) => ready.push(qid));
    expect(queues.enqueue(id, b("1"))).toBe(WasmResult.Ok);
    expect(queues.enqueue(id, b("2"))).toBe(WasmResult.Ok);
    expect(ready).toEqual([]);
    clock.flushPosted();
    expect(ready).toEqual([id, id]);
    expect(queues.dequeue(id)).toEqual({ result: WasmResult.Ok, value: b("1") });
    expect(queues.dequeue(id)).toEqual({ result: WasmResult.Ok, value: b("2") });
    expect(queues.dequeue(id)).toEqual({ result: WasmResult.Empty });
  });

  it("re-registering keeps the id and data and re-targets on_queue_ready to the last registrant", () => {
    const { clock, queues } = setup();
    const calls: string[] = [];
    const id = queues.register("vm", "q", () => calls.push("first"));
    queues.enqueue(id, b("kept"));
    expect(queues.register("vm", "q", () => calls.push("second"))).toBe(id);
    queues.enqueue(id, b("x"));
    clock.flushPosted();
    expect(calls).toEqual(["first", "second"]);
    expect(queues.dequeue(id).value).toEqual(b("kept"));
  });

  it("uses the registrant's own post function when given", () => {
    const { queues } = setup();
    const mine: Array<() => void> = [];
    const id = queues.register("vm", "q", () => {}, (cb) => mine.push(cb));
    queues.enqueue(id, b("v"));
    expect(mine).toHaveLength(1);
  });

  it.each([
    ["enqueue", (q: SharedQueues) => q.enqueue(99, b("v"))],
    ["dequeue", (q: SharedQueues) => q.dequeue(99).result],
  ])("%s on an unknown id is NotFound", (_name, op) => {
    expect(op(setup().queues)).toBe(WasmResult.NotFound);
  });

  it("copies enqueued values", () => {
    const { queues } = setup();
    const id = queues.register("vm", "q", () => {});
    const v = b("abc");
    queues.enqueue(id, v);
    v[0] = 0;
    expect(queues.dequeue(id).value).toEqual(b("abc"));
  });

  it("deleteByVmId drops that vm_id's queues only", () => {
    const { queues } = setup();
    const a = queues.register("a", "q", () => {});
    const other = queues.register("b", "q", () => {});
    queues.deleteByVmId("a");
    expect(queues.resolve("a", "q")).toBeUndefined();
    expect(queues.enqueue(a, b("v"))).toBe(WasmResult.NotFound);
    expect(queues.resolve("b", "q")).toBe(other);
  });
});
