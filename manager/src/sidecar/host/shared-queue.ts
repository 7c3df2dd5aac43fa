/**
 * Process-wide shared queues, as in proxy-wasm-cpp-host src/shared_queue.cc (used by Envoy):
 *
 * - A queue is keyed by (vm_id, name). `register` creates it on first use with a new id
 *   (non-zero u32, increasing, from a process-wide counter) and otherwise keeps the id and
 *   the queued data, re-targeting on_queue_ready to the last registrant.
 * - `resolve` returns the id of an existing queue, or undefined (cpp-host returns 0 and the
 *   ABI call returns NotFound). The caller substitutes its own vm_id for an empty one.
 * - `enqueue` appends a copy and *posts* the current registrant's onReady(id) once per
 *   enqueue; it never calls it synchronously. Unknown id -> NotFound. A registrant may pass its
 *   own `post` (cpp-host keeps the registrant's `call_on_thread`, i.e. its worker's
 *   dispatcher); otherwise the constructor's `post` is used.
 * - `dequeue` pops the oldest value; unknown id -> NotFound, empty queue -> Empty.
 */
import { WasmResult } from "./abi.ts";
import { U32Sequence } from "./shared-data.ts";

interface Queue {
  vmId: string;
  name: string;
  onReady: (queueId: number) => void;
  post: (cb: () => void) => void;
  items: Uint8Array[];
}

export class SharedQueues {
  private readonly ids = new Map<string, number>();
  private readonly queues = new Map<number, Queue>();

  constructor(
    private readonly post: (cb: () => void) => void,
    private readonly tokens: U32Sequence = new U32Sequence(),
  ) {}

  register(
    vmId: string,
    name: string,
    onReady: (queueId: number) => void,
    post: (cb: () => void) => void = this.post,
  ): number {
    const key = keyOf(vmId, name);
    let id = this.ids.get(key);
    if (id === undefined) {
      do id = this.tokens.next();
      while (this.queues.has(id));
      this.ids.set(key, id);
      this.queues.set(id, { vmId, name, onReady, post, items: [] });
    } else {
      const q = this.queues.get(id)!;
      q.onReady = onReady;
      q.post = post;
    }
    return id;
  }

  resolve(vmId: string, name: string): number | undefined {
    return this.ids.get(keyOf(vmId, name));
  }

  enqueue(id: number, value: Uint8Array): WasmResult {
    const q = this.queues.get(id);
    if (!q) return WasmResult.NotFound;
    q.items.push(value.slice());
    const onReady = q.onReady;
    q.post(() => onReady(id));
    return WasmResult.Ok;
  }

  dequeue(id: number): { result: WasmResult; value?: Uint8Array } {
    const q = this.queues.get(id);
    if (!q) return { result: WasmResult.NotFound };
    const value = q.items.shift();
    if (value === undefined) return { result: WasmResult.Empty };
    return { result: WasmResult.Ok, value };
  }

  /** Number of values waiting in a queue (undefined for an unknown id). */
  size(id: number): number | undefined {
    return this.queues.get(id)?.items.length;
  }

  /** Drops every queue of a vm_id (cpp-host SharedQueue::deleteByVmId). */
  deleteByVmId(vmId: string): void {
    for (const [id, q] of this.queues) {
      if (q.vmId !== vmId) continue;
      this.queues.delete(id);
      this.ids.delete(keyOf(q.vmId, q.name));
    }
  }
}

function keyOf(vmId: string, name: string): string {
  return `${vmId.length}:${vmId}\0${name}`;
}
