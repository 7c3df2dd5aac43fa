/**
 * One loaded WasmPlugin as the data plane runs it: a proxy-wasm plugin (host/plugin.ts), when
 * its module could not be fetched istio-agent's RBAC fallback, or, when its first configuration
 * was rejected, Envoy's missing-config filter. Streams hold the instance they
 * started on, as Envoy's filters hold their plugin handle: an instance replaced by an ECDS-like
 * update is *retired* (no new streams) and closed once its last in-flight stream is destroyed.
 */
import type { StreamFilter, StreamFilterFactory } from "../http/filter.ts";
import type { Plugin } from "../host/plugin.ts";

export type InstanceKind = "wasm" | "deny" | "allow" | "skipped" | "missing_config";

export interface InstanceInfo {
  /** `<ns>.<name>` */
  name: string;
  generation: number;
  kind: InstanceKind;
  state: "active" | "draining" | "closed";
  inFlight: number;
  /** The identity of the configuration (module checksum, configuration, root id, policy). */
  key: string;
}

export class PluginInstance {
  private inFlight = 0;
  private retired = false;
  private closed = false;

  constructor(
    readonly name: string,
    readonly generation: number,
    readonly kind: InstanceKind,
    readonly key: string,
    /**
     * Per-stream filter factory for a listener's HCM stat prefix and traffic_direction (absent
     * for a skipped plugin).
     */
    private readonly factory: ((statPrefix: string, direction: number) => StreamFilterFactory) | undefined,
    /** The proxy-wasm plugins behind the instance (closed with it). */
    private readonly plugins?: () => Plugin[],
  ) {}

  private readonly byListener = new Map<string, StreamFilterFactory>();

  /**
   * A factory that tracks the streams running on this instance, for a listener's stat prefix and
   * traffic_direction (0 unspecified, 1 INBOUND, 2 OUTBOUND); undefined when skipped.
   */
  filterFactory(statPrefix: string, direction = 0): StreamFilterFactory | undefined {
    if (!this.factory) return undefined;
    const key = `${direction}\0${statPrefix}`;
    let make = this.byListener.get(key);
    if (!make) this.byListener.set(key, (make = this.factory(statPrefix, direction)));
    const inner = make;
    return () => {
      const filter = inner();
      this.inFlight++;
      const destroy = filter.onDestroy.bind(filter);
      let done = false;
      (filter as StreamFilter).onDestroy = () => {
        try {
          destroy();
        } finally {
          if (!done) {
            done = true;
            this.release();
          }
        }
      };
      return filter;
    };
  }

  private release(): void {
    this.inFlight--;
    if (this.retired && this.inFlight === 0) void this.close();
  }

  /** No new streams; closes now if none is in flight, else after the last one. */
  retire(): void {
    this.retired = true;
    if (this.inFlight === 0) void this.close();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all((this.plugins?.() ?? []).map((p) => p.close()));
  }

  info(): InstanceInfo {
    return {
      name: this.name,
      generation: this.generation,
      kind: this.kind,
      state: this.closed ? "closed" : this.retired ? "draining" : "active",
      inFlight: this.inFlight,
      key: this.key,
    };
  }
}
