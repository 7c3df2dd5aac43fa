/**
 * grpc-metrics: per-method gRPC metrics from the sidecar (README.md). Wiring only: the root parses
 * the configuration once (config.ts), builds the method table (methods.ts) and the metric
 * families (stats.ts), and creates one RpcStream (filter.ts) per HTTP stream.
 *
 * A configuration that fails to parse is rejected (onConfigure returns false, one error log line
 * naming the field): Envoy keeps the previous configuration, or fails the plugin at load.
 */
import { RootContext, HttpContextBase, registerRootContext } from "../../sdk/context";
import { BufferType } from "../../sdk/abi/imports";
import { getBuffer, logDebug, logError } from "../../sdk/hostcalls";
import { setCollectInterval } from "../../sdk/gc";
import { Config, SideMode, parseConfig, configError } from "./config";
import { readListenerDirection } from "./host";
import { MethodTable } from "./methods";
import { Stats } from "./stats";
import { RpcStream } from "./filter";
import { GrpcFrameParser } from "../../sdk/grpc";
export * from "../../sdk/abi/exports";

const COLLECT_INTERVAL: u32 = 1024;
/** Frame parsers kept for reuse (two per RPC in flight are taken; the rest are collected). */
const PARSER_POOL_LIMIT: i32 = 64;

export class GrpcMetricsRoot extends RootContext {
  config: Config = new Config();
  methods: MethodTable = new MethodTable(this.config);
  stats: Stats | null = null;
  /** xds.listener_direction read at configure time; -1: the host did not answer, read per stream. */
  listenerDirection: i64 = -1;

  onConfigure(configSize: u32): bool {
    const bytes = getBuffer(BufferType.PluginConfiguration, configSize);
    const config = parseConfig(bytes === null ? new ArrayBuffer(0) : bytes);
    if (config === null) {
      logError("grpc-metrics: invalid configuration: " + configError());
      return false;
    }
    this.config = config;
    this.methods = new MethodTable(config);
    this.stats = new Stats(config.schema, MethodTable.maxGroups(config));
    // The plugin's listener direction, read once here where the host answers it (Envoy does).
    this.listenerDirection = config.side == SideMode.Auto ? readListenerDirection() : -1;
    // The series of many methods are thousands of live objects that every collection marks:
    // collect every 1024 callbacks (about 110 unary RPCs, some 100 KB of garbage) rather than 64.
    setCollectInterval(COLLECT_INTERVAL);
    logDebug("grpc-metrics: configured");
    return true;
  }

  private parsers: Array<GrpcFrameParser> = new Array<GrpcFrameParser>();

  /** A frame parser in its initial state (a finished RPC's, reset, or a new one). */
  takeParser(): GrpcFrameParser {
    const pool = this.parsers;
    return pool.length > 0 ? pool.pop() : new GrpcFrameParser();
  }

  /** Gives back a parser no stream uses any more. */
  releaseParser(parser: GrpcFrameParser): void {
    if (this.parsers.length >= PARSER_POOL_LIMIT) return;
    parser.reset();
    this.parsers.push(parser);
  }

  createHttpContext(contextId: u32): HttpContextBase | null {
    const stats = this.stats;
    if (stats === null) return null; // not configured: traffic passes untouched
    return new RpcStream(contextId, this, stats);
  }
}

registerRootContext((contextId: u32): RootContext => new GrpcMetricsRoot(contextId));
