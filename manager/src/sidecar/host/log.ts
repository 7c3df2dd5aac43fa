/**
 * Logging as Envoy does it: the Wasm log line format (below), the named loggers and their levels
 * (LogRegistry, behind `--log-level`, `--component-log-level` and the admin `/logging` endpoint),
 * and the default line format the sidecar prints (Envoy's source/common/common/logger.h,
 * source/server/options_impl.cc, source/server/admin/logs_handler.cc).
 *
 * The Wasm log line (envoy source/extensions/common/wasm/context.cc `Context::log` and
 * `ContextBase::log_prefix`): "wasm log<prefix>: <msg>", where the prefix is
 * " <filter name> <root_id> <vm_id>" for stream contexts and " <root_id> <vm_id>" for root
 * contexts, each empty part omitted. With every part empty the line is "wasm log: <msg>".
 */
export function formatLogLine(
  msg: string,
  parts: { filterName?: string; rootId?: string; vmId?: string; isStream: boolean },
): string {
  const fields = parts.isStream ? [parts.filterName, parts.rootId, parts.vmId] : [parts.rootId, parts.vmId];
  let prefix = "";
  for (const f of fields) if (f) prefix += ` ${f}`;
  return `wasm log${prefix}: ${msg}`;
}

/**
 * Envoy's application loggers (source/common/common/logger.h, ALL_LOGGER_IDS): the names
 * `--component-log-level` and the admin `/logging` endpoint accept. The local sidecar writes to
 * `wasm` (proxy_log, VM failures, plugin load failures), `http` (filter failures), `admin`
 * (level changes) and `main`; the others exist so that a command line written for Envoy works.
 */
export const ENVOY_LOGGERS: readonly string[] = Object.freeze([
  "admin", "alternate_protocols_cache", "aws", "assert", "backtrace", "basic_auth", "cache_filter", "client",
  "config", "connection", "conn_handler", "decompression", "dns", "dubbo", "envoy_bug", "ext_authz", "ext_proc",
  "rocketmq", "file", "filter", "forward_proxy", "geolocation", "grpc", "happy_eyeballs", "hc", "health_checker",
  "http", "http2", "hystrix", "init", "io", "jwt", "kafka", "key_value_store", "lua", "main", "matcher", "misc",
  "mongo", "multi_connection", "oauth2", "quic", "quic_stream", "pool", "rate_limit_quota", "rbac", "rds", "redis",
  "router", "runtime", "stats", "secret", "tap", "testing", "thrift", "tracing", "upstream", "udp", "wasm",
  "websocket", "golang",
]);

/**
 * spdlog levels as Envoy names them (spdlog::level::level_string_views); the index is the level,
 * which for trace..critical equals proxy-wasm's LogLevel (Envoy's proxy_get_log_level returns it).
 */
export const LEVEL_NAMES = ["trace", "debug", "info", "warning", "error", "critical", "off"] as const;
export type LevelName = (typeof LEVEL_NAMES)[number];
/** spdlog's `off`: nothing is printed; proxy_get_log_level reports 6. */
export const LEVEL_OFF = 6;
/** Envoy's default `--log-level`. */
export const DEFAULT_LEVEL = 2;

/** A bad `--log-level` / `--component-log-level` value; the message is Envoy's. */
export class LogLevelError extends Error {
  override readonly name = "LogLevelError";
}

/** `--log-level`: a level name, or `warn` (Envoy's OptionsImplBase::parseAndValidateLogLevel). */
export function parseCliLogLevel(value: string): number {
  if (value === "warn") return 3;
  const level = (LEVEL_NAMES as readonly string[]).indexOf(value);
  if (level < 0) throw new LogLevelError(`error: invalid log level specified '${value}'`);
  return level;
}

/** `--component-log-level upstream:debug,wasm:trace` (Envoy's OptionsImpl::parseComponentLogLevels). */
export function parseComponentLogLevels(value: string): Array<{ logger: string; level: number }> {
  if (value === "") return [];
  return value.split(",").map((item) => {
    const parts = item.split(":");
    if (parts.length !== 2) throw new LogLevelError(`error: component log level not correctly specified '${item}'`);
    const [logger, levelName] = parts as [string, string];
    const level = (LEVEL_NAMES as readonly string[]).indexOf(levelName);
    if (level < 0) throw new LogLevelError(`error: invalid log level specified '${levelName}'`);
    if (!ENVOY_LOGGERS.includes(logger)) throw new LogLevelError(`error: invalid component specified '${logger}'`);
    return { logger, level };
  });
}

/** Receives every message a logger lets through. */
export type LogWriter = (logger: string, level: number, message: string) => void;

/**
 * Envoy's Logger::Registry: one level per named logger (all start at `level`), changed at run
 * time by `/logging`. A message below its logger's level is dropped before it is written.
 */
export class LogRegistry {
  readonly #levels = new Map<string, number>();

  constructor(
    private readonly write: LogWriter,
    level: number = DEFAULT_LEVEL,
  ) {
    for (const name of ENVOY_LOGGERS) this.#levels.set(name, level);
  }

  has(logger: string): boolean {
    return this.#levels.has(logger);
  }

  /** The logger's level (unknown loggers read as `off`). */
  level(logger: string): number {
    return this.#levels.get(logger) ?? LEVEL_OFF;
  }

  setLevel(logger: string, level: number): void {
    if (!this.#levels.has(logger)) throw new LogLevelError(`error: invalid component specified '${logger}'`);
    this.#levels.set(logger, level);
  }

  setAll(level: number): void {
    for (const name of this.#levels.keys()) this.#levels.set(name, level);
  }

  /**
   * Envoy's start-up order: `--log-level` for every logger, then `--component-log-level`.
   * Throws LogLevelError naming the option and Envoy's reason.
   */
  applyOptions(logLevel: string, componentLogLevel: string): void {
    const named = <T>(option: string, parse: () => T): T => {
      try {
        return parse();
      } catch (e) {
        if (e instanceof LogLevelError) throw new LogLevelError(`${option}: ${e.message.replace(/^error: /, "")}`);
        throw e;
      }
    };
    const level = named("--log-level", () => parseCliLogLevel(logLevel));
    const components = named("--component-log-level", () => parseComponentLogLevels(componentLogLevel));
    this.setAll(level);
    for (const c of components) this.setLevel(c.logger, c.level);
  }

  enabled(logger: string, level: number): boolean {
    return level >= this.level(logger) && level < LEVEL_OFF;
  }

  log(logger: string, level: number, message: string): void {
    if (this.enabled(logger, level)) this.write(logger, level, message);
  }

  /** Loggers in registration order with their level names (the `/logging` listing). */
  list(): Array<{ logger: string; level: LevelName }> {
    return [...this.#levels].map(([logger, level]) => ({ logger, level: LEVEL_NAMES[level]! }));
  }
}

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

/**
 * Envoy's default log line, `[%Y-%m-%d %T.%e][%t][%l][%n] %v` (local time, thread id, level,
 * logger, message), without the `[%g:%#]` source location, which has no meaning here; the
 * process id stands in for the thread id.
 */
export function formatEnvoyLogLine(at: Date, pid: number, logger: string, level: number, message: string): string {
  const date = `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}`;
  const time = `${pad(at.getHours())}:${pad(at.getMinutes())}:${pad(at.getSeconds())}.${pad(at.getMilliseconds(), 3)}`;
  return `[${date} ${time}][${pid}][${LEVEL_NAMES[level] ?? level}][${logger}] ${message}`;
}
