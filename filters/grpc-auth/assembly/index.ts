/**
 * grpc-auth: per-method authentication and authorization of gRPC calls from a policy
 * (README.md). Wiring only: the root parses the pluginConfig once (config.ts), builds the method
 * index (methods.ts), the credential checkers (identity.ts) and the metrics (stats.ts), and holds
 * the per-request scratch objects the streams (filter.ts) reuse — a request is decided entirely
 * within one onRequestHeaders call, so one set per VM suffices.
 *
 * Garbage collection is paced by the size of the live state: a collection marks every live object,
 * and the live state grows with the policy (rules, method lists, credential stores, metric series:
 * about one object per 16 configuration bytes) and with the JWT cache (a cached token keeps its
 * decoded claims: about 8 objects). The SDK's interval between collections is set in proportion
 * (one callback per 16 configuration bytes and 8 per JWT cache slot, at least the SDK's 64 and at
 * most 16,384, about 1,800 unary RPCs), so the collector's cost per request stays the same for 10
 * rules or 1,000 — as Go's GOGC paces collections by heap growth — for garbage held longer with
 * large policies.
 *
 * An invalid configuration is rejected (onConfigure returns false, one error log line naming the
 * field): the host refuses the plugin, and with failStrategy FAIL_CLOSE traffic is denied.
 */
import { RootContext, HttpContextBase, registerRootContext } from "../../sdk/context";
import { BufferType } from "../../sdk/abi/imports";
import { getBuffer, logError, logInfo } from "../../sdk/hostcalls";
import { configError, parseConfig } from "./config";
import { Decision } from "./decision";
import { RequestHeaders } from "./headers";
import { Authenticator, Identities } from "./identity";
import { MethodIndex } from "./methods";
import { MethodPath } from "./path";
import { Config, RULE_DEFAULT } from "./model";
import { Stats } from "./stats";
import { AuthStream } from "./filter";
import { setCollectInterval } from "../../sdk/gc";
import { Text, text } from "./texts";
export * from "../../sdk/abi/exports";

export class GrpcAuthRoot extends RootContext {
  config: Config = new Config();
  methods: MethodIndex = new MethodIndex([], []);
  authenticator: Authenticator = new Authenticator(this.config);
  stats: Stats | null = null;
  headers: RequestHeaders = new RequestHeaders(this.config.names);
  readonly identities: Identities = new Identities();
  readonly decision: Decision = new Decision();
  readonly methodPath: MethodPath = new MethodPath();
  /** Stat ids of the pseudo-rules. */
  readonly defaultIds: StaticArray<u32> = new StaticArray<u32>(12);
  readonly authnIds: StaticArray<u32> = new StaticArray<u32>(12);
  readonly malformedIds: StaticArray<u32> = new StaticArray<u32>(12);
  readonly defaultRuleBytes: ArrayBuffer = String.UTF8.encode(RULE_DEFAULT);
  configured: bool = false;

  onConfigure(configSize: u32): bool {
    const bytes = getBuffer(BufferType.PluginConfiguration, configSize);
    const parsed = parseConfig(bytes === null ? new ArrayBuffer(0) : bytes);
    if (parsed === null) {
      logError(text(Text.invalidConfiguration) + configError());
      return false;
    }
    const config = parsed.config;
    const actions = new Array<i32>();
    for (let i = 0; i < config.rules.length; i++) actions.push(config.rules[i].action);
    this.config = config;
    this.methods = new MethodIndex(parsed.methods, actions);
    this.authenticator = new Authenticator(config);
    const stats = new Stats(config.rules.length, config.maxMethodSeries);
    this.stats = stats;
    const passwords = this.authenticator.passwords;
    if (passwords !== null) passwords.derivations = stats.passwordDerivations;
    const tokens = this.authenticator.tokens;
    if (tokens !== null) tokens.verifications = stats.jwtVerifications;
    this.headers = new RequestHeaders(config.names);
    this.configured = true;
    const jwt = config.jwt;
    const liveEstimate = (configSize >> 4) + (jwt !== null ? <u32>jwt.cacheSize * 8 : 0);
    setCollectInterval(min<u32>(16384, max<u32>(64, liveEstimate)));
    logInfo(text(Text.configuredPolicy) + config.policy + text(Text.configured) + config.rules.length.toString() + text(Text.rules));
    return true;
  }

  createHttpContext(contextId: u32): HttpContextBase | null {
    return this.configured ? new AuthStream(contextId, this) : null;
  }
}

registerRootContext((contextId: u32): RootContext => new GrpcAuthRoot(contextId));
