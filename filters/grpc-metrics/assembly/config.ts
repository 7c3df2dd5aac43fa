/**
 * grpc-metrics configuration: the plugin configuration JSON (an Istio `pluginConfig`), read once
 * in onConfigure with the SDK's ConfigReader so that every error names its field
 * (`method_types["a.B/C"]: expected one of "unary", …`). README.md documents the fields.
 *
 * Every field is optional; an empty configuration is `{}`. Method names are written
 * "<service>/<method>" (the `:path` without its leading slash) and checked with the SDK's
 * `parseGrpcPath`; "<service>/*" stands for every method of a service.
 */
import { ConfigObject, ConfigReader } from "../../sdk/json";
import { parseGrpcPath } from "../../sdk/grpc";

export enum Schema { Grpc = 0, Otel = 1 }
export enum SideMode { Auto = 0, Server = 1, Client = 2 }

/** RPC types; bit 0: the client streams, bit 1: the server streams. */
export enum RpcType { Unary = 0, ClientStream = 1, ServerStream = 2, BidiStream = 3 }
export const RPC_TYPE_NAMES: Array<string> = ["unary", "client_stream", "server_stream", "bidi_stream"];
/** No type configured. */
// @ts-ignore: decorator
@inline export const TYPE_NONE: i32 = -1;

export const MAX_METHODS_LIMIT: i64 = 100000;
const FIELDS: Array<string> = ["schema", "side", "max_methods", "methods", "method_types", "filter_state"];

/** "<service>/<method>" or "<service>/*" (method ""). */
export class MethodPattern {
  constructor(public service: string, public method: string) {}
  get wildcard(): bool { return this.method.length == 0; }
  matches(service: string, method: string): bool { return this.service == service && (this.wildcard || this.method == method); }
}

export class Config {
  schema: Schema = Schema.Grpc;
  side: SideMode = SideMode.Auto;
  maxMethods: i32 = 100;
  /** null: every method may be tracked. */
  allow: Array<MethodPattern> | null = null;
  /** Configured RPC types by "<service>/<method>" or "<service>/*". */
  types: Map<string, i32> = new Map<string, i32>();
  filterState: bool = true;

  /** True when `service`/`method` may get series of its own. */
  allows(service: string, method: string): bool {
    const allow = this.allow;
    if (allow === null) return true;
    for (let i = 0, n = allow.length; i < n; i++) {
      if (unchecked(allow[i]).matches(service, method)) return true;
    }
    return false;
  }

  /** The configured type of a method (exact name first, then "<service>/*"), or TYPE_NONE. */
  typeOf(service: string, method: string): i32 {
    if (this.types.size == 0) return TYPE_NONE;
    const exact = service + "/" + method;
    if (this.types.has(exact)) return this.types.get(exact);
    const all = service + "/*";
    return this.types.has(all) ? this.types.get(all) : TYPE_NONE;
  }
}

let lastError = "";
/** Why the last `parseConfig` returned null: the first error, and how many more. */
export function configError(): string { return lastError; }

/** Parses the configuration bytes; null (see configError) when anything is invalid. */
export function parseConfig(bytes: ArrayBuffer): Config | null {
  const reader = new ConfigReader();
  const root = reader.readBytes(bytes);
  const config = new Config();
  if (root !== null) readRoot(root, config);
  if (!reader.ok()) { lastError = reader.summary(); return null; }
  lastError = "";
  return config;
}

function readRoot(root: ConfigObject, config: Config): void {
  root.unknownFields(FIELDS);
  config.schema = <Schema>root.optionalEnum("schema", ["grpc", "otel"], 0);
  config.side = <SideMode>root.optionalEnum("side", ["auto", "server", "client"], 0);
  config.maxMethods = readMaxMethods(root);
  config.filterState = root.optionalBool("filter_state", true);
  const methods = root.optionalArray("methods");
  if (methods !== null) {
    const allow = new Array<MethodPattern>();
    for (let i = 0; i < methods.length; i++) {
      if (!methods.value(i).isString()) { methods.string(i); continue; } // records the type error
      const p = parsePattern(methods.string(i));
      if (p === null) methods.fail(i, patternError());
      else allow.push(p);
    }
    config.allow = allow;
  }
  const types = root.optionalObject("method_types");
  if (types !== null) {
    const keys = types.keys();
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i];
      if (parsePattern(key) === null) { types.fail(key, patternError()); continue; }
      const t = types.requiredEnum(key, RPC_TYPE_NAMES);
      if (t >= 0) config.types.set(key, t);
    }
  }
}

function patternError(): string { return "expected \"<service>/<method>\" or \"<service>/*\""; }

/**
 * `max_methods`, an integer in [0, MAX_METHODS_LIMIT] (100 when absent or null). Checked here with
 * JsonValue.isInteger() rather than ConfigReader.integer(), whose messages print any number and so
 * link AssemblyScript's float formatting: 3.7 KB of the module for one error message.
 */
function readMaxMethods(root: ConfigObject): i32 {
  const v = root.get("max_methods");
  if (v === null || v.isNull()) return 100;
  const expected = "expected integer in [0, " + MAX_METHODS_LIMIT.toString() + "]";
  if (!v.isNumber()) { root.fail("max_methods", expected + ", got " + v.typeName()); return 100; }
  if (!v.isInteger()) { root.fail("max_methods", expected + ", got a number with a fraction or out of range"); return 100; }
  const n = v.integerValue();
  if (n < 0 || n > MAX_METHODS_LIMIT) { root.fail("max_methods", expected + ", got " + n.toString()); return 100; }
  return <i32>n;
}

/** "<service>/<method>" or "<service>/*"; null when the service or method is not a valid name. */
export function parsePattern(text: string): MethodPattern | null {
  if (text.endsWith("/*")) {
    const m = parseGrpcPath("/" + text.substring(0, text.length - 1) + "x");
    return m === null ? null : new MethodPattern(m.service, "");
  }
  const m = parseGrpcPath("/" + text);
  return m === null ? null : new MethodPattern(m.service, m.method);
}
