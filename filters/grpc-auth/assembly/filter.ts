/**
 * grpc-auth per request (README.md): everything happens in onRequestHeaders.
 *
 *  1. The request headers are read once (headers.ts) and the method taken from `:path` (the SDK's
 *     parseGrpcPath: "/<service>/<method>" exactly; anything else — a double slash, an extra
 *     segment, a query, percent-encoding — is denied by "_malformed_path", PERMISSION_DENIED).
 *  2. Presented credentials are checked (identity.ts); an invalid one denies the call by "_authn",
 *     UNAUTHENTICATED, whatever the rules say.
 *  3. The rules for the method (methods.ts, by hash) decide (decision.ts).
 *  4. A denial is a local reply (the SDK's sendGrpcError): for gRPC a trailers-only response, HTTP
 *     200, grpc-status 7 or 16 and a grpc-message naming the rule (or a generic one); other
 *     requests get 403 / 401. An allowed call loses its credential headers (unless configured
 *     otherwise) and continues.
 *  5. Filter state `wasm.grpc_auth_rule` / `wasm.grpc_auth_principal`, the counters, and an audit
 *     log line per decision as configured (`audit_log`) or when an AUDIT rule matched.
 * Nothing here reads a credential into a log line, a message or a metric.
 */
import { HttpContext } from "../../sdk/context";
import { FilterHeadersStatus, LogLevel, MapType } from "../../sdk/abi/imports";
import { getLogLevel, logDebug, logInfo, removeHeaderMapValue } from "../../sdk/hostcalls";
import { parseGrpcPath, isGrpcContentType } from "../../sdk/grpc";
import { sendGrpcError } from "../../sdk/grpc-status";
import { BY_DEFAULT, CODE_PERMISSION_DENIED, CODE_UNAUTHENTICATED, decide } from "./decision";
import { setFilterState, STATE_PRINCIPAL, STATE_RULE } from "./host";
import { AUDIT_ALL, AUDIT_ALLOWS, AUDIT_DENIALS, RULE_AUTHN, RULE_DEFAULT, RULE_MALFORMED } from "./model";
import { DECISION_ALLOWED, DECISION_AUDITED, DECISION_DENIED, DECISION_SHADOW_DENIED } from "./stats";
import { GrpcAuthRoot } from "./index";
import { names } from "./names";

/** Printable ASCII (no quotes or backslashes), other characters as '?', at most 256. */
function printable(s: string): string {
  const n = min(s.length, 256);
  let clean = n == s.length;
  for (let i = 0; i < n && clean; i++) { const c = s.charCodeAt(i); clean = c > 0x20 && c < 0x7f && c != 0x22 && c != 0x5c; }
  if (clean) return s;
  let out = "";
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    out += c > 0x20 && c < 0x7f && c != 0x22 && c != 0x5c ? String.fromCharCode(c) : "?";
  }
  return out;
}

export class AuthStream extends HttpContext<GrpcAuthRoot> {
  onRequestHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
    const root = this.root;
    const config = root.config;
    const h = root.headers;
    if (!h.load()) h.scan(new ArrayBuffer(0));
    const tracing = getLogLevel() <= LogLevel.Debug;
    // Only ASCII paths are decoded: no byte sequence can decode into a method the bytes are not.
    const path = h.count(config.pathIndex) == 1 && h.firstIsAscii(config.pathIndex) ? h.first(config.pathIndex) : null;
    const method = path !== null ? parseGrpcPath(path) : null;
    const grpc = isGrpcContentType(h.first(config.contentTypeIndex));
    const id = root.identities;
    const d = root.decision;
    d.reset();
    if (method === null) {
      id.reset();
      return this.deny(RULE_MALFORMED, root.malformedIds, CODE_PERMISSION_DENIED, "not a gRPC method path", "unknown", "unknown", null, grpc);
    }
    root.authenticator.authenticate(h, id);
    if (tracing) this.traceCredentials();
    const invalid = id.invalidCredential();
    if (invalid.length > 0) {
      return this.deny(RULE_AUTHN, root.authnIds, CODE_UNAUTHENTICATED, "invalid " + invalid, method.service, method.method, path, grpc);
    }
    decide(config, root.methods.lookup(path!.substring(1), method.service), id, h, tracing, d);
    for (let i = 0; i < d.audits.length; i++) {
      const r = config.rules[d.audits[i]];
      root.stats!.decision(r.name, r.statIds, DECISION_AUDITED, d.deny ? d.code : 0);
    }
    if (d.deny) {
      if (d.rule == BY_DEFAULT) {
        const text = d.code == CODE_UNAUTHENTICATED ? "credentials required" : "no rule allows this call";
        return this.deny(RULE_DEFAULT, root.defaultIds, d.code, text, method.service, method.method, path, grpc);
      }
      const rule = config.rules[d.rule];
      return this.deny(rule.name, rule.statIds, d.code, "", method.service, method.method, path, grpc, rule.message);
    }
    // Allowed.
    const ruleName = d.rule == BY_DEFAULT ? RULE_DEFAULT : config.rules[d.rule].name;
    root.stats!.decision(ruleName, d.rule == BY_DEFAULT ? root.defaultIds : config.rules[d.rule].statIds, DECISION_ALLOWED, 0);
    let shadowName = "";
    if (d.shadowDeny) {
      shadowName = d.shadowRule == BY_DEFAULT ? RULE_DEFAULT : config.rules[d.shadowRule].name;
      root.stats!.decision(shadowName, d.shadowRule == BY_DEFAULT ? root.defaultIds : config.rules[d.shadowRule].statIds,
        DECISION_SHADOW_DENIED, d.shadowCode);
      root.stats!.denial(method.service, method.method, DECISION_SHADOW_DENIED, d.shadowCode);
    }
    this.stripCredentials();
    const logged = config.auditLog == AUDIT_ALL || config.auditLog == AUDIT_ALLOWS || d.audits.length > 0 ||
      (d.shadowDeny && config.auditLog == AUDIT_DENIALS);
    this.finish(ruleName, d.rule == BY_DEFAULT ? root.defaultRuleBytes : config.rules[d.rule].nameBytes, logged, false, 0,
      path!, shadowName);
    return FilterHeadersStatus.Continue;
  }

  private traceCredentials(): void {
    const id = this.root.identities;
    const states = names("absent|valid|invalid");
    logDebug("grpc-auth: trace: credentials: api key " + states[id.apiKey.state] + ", username/password " + states[id.user.state] +
      ", JWT " + states[id.jwtState]);
  }

  private deny(rule: string, ids: StaticArray<u32>, code: i32, text: string, service: string, method: string,
               path: string | null, grpc: bool, custom: string | null = null): FilterHeadersStatus {
    const root = this.root;
    const config = root.config;
    root.stats!.decision(rule, ids, DECISION_DENIED, code);
    root.stats!.denial(service, method, DECISION_DENIED, code);
    let message: string;
    if (config.genericMessages) message = code == CODE_UNAUTHENTICATED ? "unauthenticated" : "permission denied";
    else if (custom !== null) message = custom;
    else {
      const kind = code == CODE_UNAUTHENTICATED ? "unauthenticated" : "permission denied";
      message = "grpc-auth: " + kind + (text.length > 0 ? ": " + text : "") + " (rule \"" + rule + "\")";
    }
    sendGrpcError(code, message, null, "grpc_auth_denied");
    const logged = config.auditLog == AUDIT_ALL || config.auditLog == AUDIT_DENIALS || root.decision.audits.length > 0;
    this.finish(rule, String.UTF8.encode(rule), logged, true, code, path === null ? "(malformed)" : path, "");
    return FilterHeadersStatus.StopIteration;
  }

  private stripCredentials(): void {
    const config = this.root.config;
    if (!config.stripCredentials) return;
    const h = this.root.headers;
    const jwt = config.jwt;
    if (jwt !== null && !jwt.forward && h.count(jwt.headerIndex) > 0) removeHeaderMapValue(MapType.RequestHeaders, jwt.header);
    const keys = config.apiKeys;
    if (keys !== null && h.count(keys.headerIndex) > 0) removeHeaderMapValue(MapType.RequestHeaders, keys.header);
    const users = config.users;
    if (users !== null) {
      if (h.count(users.usernameIndex) > 0) removeHeaderMapValue(MapType.RequestHeaders, users.usernameHeader);
      if (h.count(users.passwordIndex) > 0) removeHeaderMapValue(MapType.RequestHeaders, users.passwordHeader);
    }
  }

  /** Filter state and the audit log line. */
  private finish(rule: string, ruleBytes: ArrayBuffer, logged: bool, denied: bool, code: i32, method: string, shadowRule: string): void {
    const root = this.root;
    const config = root.config;
    let principal: string | null = null;
    const needPrincipal = config.filterState || logged;
    if (needPrincipal) principal = root.identities.principal(config);
    if (config.filterState) {
      setFilterState(STATE_RULE, ruleBytes);
      if (principal !== null && principal.length > 0) setFilterState(STATE_PRINCIPAL, String.UTF8.encode(principal));
    }
    if (!logged) return;
    const d = root.decision;
    let line = "grpc-auth: policy=" + printable(config.policy) + " decision=" + (denied ? "deny" : "allow") + " code=" +
      code.toString() + " rule=" + rule + " method=" + printable(method) + " principal=" +
      (principal === null || principal.length == 0 ? "-" : printable(principal));
    if (shadowRule.length > 0) line += " shadow_decision=deny shadow_rule=" + shadowRule + " shadow_code=" + d.shadowCode.toString();
    if (d.audits.length > 0) line += " audit_rule=" + config.rules[d.audits[0]].name;
    logInfo(line);
  }
}
