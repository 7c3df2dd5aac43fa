/**
 * grpc-hello: the example gRPC filter of the SDK walkthrough (filters/sdk/README.md, "Writing a
 * gRPC filter"). Wiring: the root parses the JSON configuration once (config.ts), defines the
 * metrics (stats.ts), keeps the shared RPC count (shared-count.ts) published by its tick, and
 * creates one HelloStream (filter.ts) per HTTP stream.
 */
import { RootContext, HttpContextBase, registerRootContext } from "../../../sdk/context";
import { BufferType } from "../../../sdk/abi/imports";
import { getBuffer, getPropertyString, incrementMetric, logError, logInfo, recordMetric } from "../../../sdk/hostcalls";
import { ConfigReader } from "../../../sdk/json";
import { Config, parseConfig } from "./config";
import { Stats } from "./stats";
import { HelloStream } from "./filter";
import { SHARED_RPCS_KEY, incrementSharedCount, initSharedCount, readSharedCount } from "./shared-count";
export * from "../../../sdk/abi/exports";

export class HelloRoot extends RootContext {
  /** Valid once onConfigure returned true; streams are only created after that. */
  config: Config = new Config();
  stats: Stats = new Stats(1);
  /** Label values, reused for every recording. */
  labels: StaticArray<string> = new StaticArray<string>(3);
  private configured: bool = false;

  onConfigure(configSize: u32): bool {
    const name = getPropertyString(["plugin_name"]);
    const prefix = (name === null ? "grpc-hello" : name) + ": ";
    const bytes = getBuffer(BufferType.PluginConfiguration, configSize);
    const reader = new ConfigReader();
    const config = parseConfig(bytes === null ? new ArrayBuffer(0) : bytes, reader);
    if (config === null) {
      logError(prefix + "invalid configuration: " + reader.summary());
      return false;
    }
    this.config = config;
    this.stats = new Stats(config.maxSeries);
    if (!this.stats.define()) logError(prefix + "the host refused to define a metric");
    initSharedCount(SHARED_RPCS_KEY);
    if (config.tickMs > 0) this.setTickPeriod(config.tickMs);
    this.configured = true;
    logInfo(prefix + "configured, " + config.denyMethods.size.toString() + " denied method(s)");
    return true;
  }

  /** Publishes the count all workers share. */
  onTick(): void {
    recordMetric(this.stats.sharedRpcs, readSharedCount(SHARED_RPCS_KEY));
  }

  /** Adds one RPC to the shared count (called from a stream's onLog). */
  countRpc(): void {
    if (!incrementSharedCount(SHARED_RPCS_KEY)) incrementMetric(this.stats.sharedConflicts, 1);
  }

  createHttpContext(contextId: u32): HttpContextBase | null {
    return this.configured ? new HelloStream(contextId, this) : null;
  }
}

registerRootContext((contextId: u32): RootContext => new HelloRoot(contextId));
