/**
 * The method table: `:path` -> the method's label group and RPC type, with the cardinality bound
 * of README.md ("Cardinality").
 *
 *  - A valid path ("/<service>/<method>", the SDK's parseGrpcPath) gets series of its own when the
 *    allowlist admits it and fewer than `max_methods` methods are tracked ("the first N seen").
 *  - Any other valid path is `grpc_method="other"`, under its service when the service is known
 *    (a tracked method's, or named in `methods`) and under `grpc_service="other"` otherwise.
 *  - A malformed path is grpc_service="unknown", grpc_method="unknown" (counted, never dropped).
 *  - Entries are cached by path: every tracked method, and up to OTHER_CACHE_LIMIT other paths;
 *    beyond that an other path is resolved on each RPC (bounded memory whatever the client sends).
 *    A lookup of a cached path hashes the string once and allocates nothing; `lookupBytes` finds
 *    a cached path from its UTF-8 bytes (FNV-1a hash, then a byte comparison) without decoding,
 *    and first compares the bytes with the path it found last (RPCs of one method come in runs).
 *  - RPC types: a configured type wins; otherwise the type an entry has learned from its finished
 *    RPCs (bit 0: more than one request message, bit 1: more than one response message; bits
 *    only get set). An RPC takes its entry's type when it starts.
 */
import { parseGrpcPath } from "../../sdk/grpc";
import { Config, TYPE_NONE } from "./config";
import { LabelGroup } from "./stats";

/** Other (untracked) paths remembered, to keep learning their types and skip re-parsing. */
const OTHER_CACHE_LIMIT: i32 = 4096;

export class MethodEntry {
  /** Type bits learned from finished RPCs. */
  learned: i32 = 0;
  /** The `:path` bytes this entry is found by in the byte index (null: not indexed). */
  pathBytes: ArrayBuffer | null = null;
  constructor(public readonly group: LabelGroup, public readonly configuredType: i32, public readonly other: bool) {}

  /** The type an RPC of this method starts with. */
  get type(): i32 { return this.configuredType != TYPE_NONE ? this.configuredType : this.learned; }

  /** Records what a finished RPC showed: more than one message in a direction makes it streaming. */
  learn(requestMessages: u64, responseMessages: u64): void {
    if (requestMessages > 1) this.learned |= 1;
    if (responseMessages > 1) this.learned |= 2;
  }
}

export class MethodTable {
  /** Distinct methods with series of their own. */
  tracked: i32 = 0;
  private entries: Map<string, MethodEntry> = new Map<string, MethodEntry>();
  /** Cached entries by the FNV-1a hash of their path's bytes (a colliding path is not indexed). */
  private byBytes: Map<u32, MethodEntry> = new Map<u32, MethodEntry>();
  private cachedOther: i32 = 0;
  /** The entry `lookupBytes` found last in the byte index (indexed entries stay for good). */
  private lastFound: MethodEntry | null = null;

  private readonly otherGroup: LabelGroup = new LabelGroup("other", "other", false);
  /** Shared by every malformed path. */
  readonly malformed: MethodEntry = new MethodEntry(new LabelGroup("unknown", "unknown", false), TYPE_NONE, false);

  constructor(private config: Config) {
    const allow = config.allow; // services named in the allowlist are known from the start
    if (allow !== null) for (let i = 0; i < allow.length; i++) this.knowService(unchecked(allow[i]).service);
  }

  /**
   * The most label groups this table can create (tracked methods, one "<service>/other" per
   * service a tracked method or the allowlist names, other/other, unknown/unknown).
   */
  static maxGroups(config: Config): i32 {
    const allow = config.allow;
    return config.maxMethods * 2 + (allow === null ? 0 : allow.length) + 2;
  }

  /** `lookup` of a `:path` given as UTF-8 bytes at `ptr` (the same entry `lookup` returns). */
  lookupBytes(ptr: usize, len: usize): MethodEntry {
    const last = this.lastFound;
    if (last !== null && hasPath(last, ptr, len)) return last;
    const hash = fnv1a(ptr, len);
    const byBytes = this.byBytes;
    if (byBytes.has(hash)) {
      const e = byBytes.get(hash);
      if (hasPath(e, ptr, len)) { this.lastFound = e; return e; }
    }
    const path = String.UTF8.decodeUnsafe(ptr, len);
    const e = this.lookup(path);
    // Index only what the path table keeps (so the index is bounded the same way), once per entry.
    if (e.pathBytes === null && !byBytes.has(hash) && this.entries.has(path)) {
      const key = new ArrayBuffer(<i32>len);
      memory.copy(changetype<usize>(key), ptr, len);
      e.pathBytes = key;
      byBytes.set(hash, e);
      this.lastFound = e;
    }
    return e;
  }

  lookup(path: string): MethodEntry {
    const entries = this.entries;
    if (entries.has(path)) return entries.get(path);
    const m = parseGrpcPath(path);
    if (m === null) return this.malformed;
    const config = this.config;
    const service = m.service;
    const configured = config.typeOf(service, m.method);
    if (this.tracked < config.maxMethods && config.allows(service, m.method)) {
      this.tracked++;
      this.knowService(service);
      const e = new MethodEntry(new LabelGroup(service, m.method, true), configured, false);
      entries.set(path, e);
      return e;
    }
    const e = new MethodEntry(this.otherGroupOf(service), configured, true);
    if (this.cachedOther < OTHER_CACHE_LIMIT) {
      this.cachedOther++;
      entries.set(path, e);
    }
    return e;
  }

  /**
   * Known services live in the entries table too, under a key no `:path` can have ("\0" +
   * service), holding the service's "<service>/other" group (one Map type instead of two).
   */
  private knowService(service: string): void {
    const key = "\0" + service;
    if (!this.entries.has(key)) this.entries.set(key, new MethodEntry(new LabelGroup(service, "other", false), TYPE_NONE, true));
  }

  private otherGroupOf(service: string): LabelGroup {
    const key = "\0" + service;
    return this.entries.has(key) ? this.entries.get(key).group : this.otherGroup;
  }
}

/** Whether `e` is indexed by exactly the `len` bytes at `ptr`. */
function hasPath(e: MethodEntry, ptr: usize, len: usize): bool {
  const key = e.pathBytes;
  return key !== null && <usize>key.byteLength == len && memory.compare(changetype<usize>(key), ptr, len) == 0;
}

/** FNV-1a (32-bit) of `len` bytes at `ptr`. */
function fnv1a(ptr: usize, len: usize): u32 {
  let h: u32 = 0x811c9dc5;
  for (let i: usize = 0; i < len; i++) h = (h ^ <u32>load<u8>(ptr + i)) * 0x01000193;
  return h;
}
