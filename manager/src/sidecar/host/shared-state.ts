/**
 * State shared by every VM in the process: shared data, shared queues, and the VM cache
 * (Envoy keys VMs by sha256(vm_id || vm_configuration || code); plugin.ts owns the values:
 * the VM groups, removed when their last plugin closes). Envoy keeps these process-wide (cpp-host global SharedData / SharedQueue).
 *
 * Shared-data CAS values and queue ids come from two separate counters, as in cpp-host
 * (`SharedData::nextCas`, `SharedQueue::nextQueueToken`); both are non-zero u32s that
 * increase monotonically for the whole process.
 *
 * `post` delivers on_queue_ready asynchronously; it defaults to setImmediate. Hosts running on
 * a VirtualClock pass `(cb) => clock.post(cb)`.
 */
import { SharedData, U32Sequence } from "./shared-data.ts";
import { SharedQueues } from "./shared-queue.ts";

export class SharedState {
  readonly data: SharedData;
  readonly queues: SharedQueues;
  readonly vmCache = new Map<string, unknown>();

  constructor(post: (cb: () => void) => void = (cb) => void setImmediate(cb)) {
    this.data = new SharedData(new U32Sequence());
    this.queues = new SharedQueues(post, new U32Sequence());
  }
}

/** The process-wide default, used when HostEnvironment.shared is absent. */
export const defaultSharedState = new SharedState();
