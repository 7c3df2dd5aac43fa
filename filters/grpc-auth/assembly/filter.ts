/**
 * grpc-auth per request (README.md): everything happens in onRequestHeaders.
 *
 *  1. The headers the policy names are read (headers.ts) and the method taken from `:path`, checked on
 *     its bytes (path.ts, the grammar of the SDK's parseGrpcPath: "/<service>/<method>" exactly;
 *     anything else — a double slash, an extra segment, a query, percent-encoding — is denied by
 *     "_malformed_path", PERMISSION_DENIED).
 *  2. Presented credentials are checked (identity.ts); an invalid one denies the call by "_authn",
 *     UNAUTHENTICATED, whatever the rules say.
 *  3. The rules for the method (methods.ts, by a hash of the path's bytes) decide (decision.ts).
 *     An allowed call builds no string unless it is logged.
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
import * as abi from "../../sdk/abi/imports";
import { getLogLevel, logDebug, logInfo } from "../../sdk/hostcalls";
import { sendGrpcError } from "../../sdk/grpc-status";
import { BY_DEFAULT, CODE_PERMISSION_DENIED, CODE_UNAUTHENTICATED, decide } from "./decision";
import { setFilterState, STATE_PRINCIPAL, STATE_RULE } from "./host";
import { AUDIT_ALL, AUDIT_ALLOWS, AUDIT_DENIALS, RULE_AUTHN, RULE_DEFAULT, RULE_MALFORMED } from "./model";
import { DECISION_ALLOWED, DECISION_AUDITED, DECISION_DENIED, DECISION_SHADOW_DENIED } from "./stats";
import { GrpcAuthRoot } from "./index";
import { MethodPath } from "./path";
import { RequestHeaders } from "./headers";
import { Text, text } from "./texts";

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

/** Removes the request header of name `index` (its UTF-8 bytes, encoded once) when the request has it. */
function removePresent(h: RequestHeaders, index: i32): void {
  if (h.count(index) == 0) return;
  const name = unchecked(h.names.names[index]);
  abi.proxy_remove_header_map_value(MapType.RequestHeaders, changetype<usize>(name), <usize>name.byteLength);
}

export class AuthStream extends HttpContext<GrpcAuthRoot> {
  onRequestHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
    const root = this.root;
    const config = root.config;
    const h = root.headers;
    h.load();
    const tracing = getLogLevel() <= LogLevel.Debug;
    // The :path is checked on its bytes (path.ts); strings are decoded only for a message or a log line.
    const p = root.methodPath;
    const pi = config.pathIndex;
    const wellFormed = h.count(pi) == 1 && p.set(h.ptr(pi), <usize>h.length(pi));
    const id = root.identities;
    const d = root.decision;
    d.reset();
    if (!wellFormed) {
      id.reset();
      return this.deny(RULE_MALFORMED, root.malformedIds, CODE_PERMISSION_DENIED, text(Text.notGrpcPath), null);
    }
    root.authenticator.authenticate(h, id);
    if (tracing) this.traceCredentials();
    const invalid = id.invalidCredential();
    if (invalid.length > 0) return this.deny(RULE_AUTHN, root.authnIds, CODE_UNAUTHENTICATED, text(Text.invalidCredential) + invalid, p);
    decide(config, root.methods.lookupBytes(p.ptr + 1, p.len - 1, <usize>p.slash - 1), id, h, tracing, d);
    for (let i = 0; i < d.audits.length; i++) {
      const r = config.rules[d.audits[i]];
      root.stats!.decision(r.name, r.statIds, DECISION_AUDITED, d.deny ? d.code : 0);
    }
    if (d.deny) {
      if (d.rule == BY_DEFAULT) {
        const reason = text(d.code == CODE_UNAUTHENTICATED ? Text.credentialsRequired : Text.noRuleAllows);
        return this.deny(RULE_DEFAULT, root.defaultIds, d.code, reason, p);
      }
      const rule = config.rules[d.rule];
      return this.deny(rule.name, rule.statIds, d.code, "", p, rule.message);
    }
    // Allowed.
    const ruleName = d.rule == BY_DEFAULT ? RULE_DEFAULT : config.rules[d.rule].name;
    root.stats!.decision(ruleName, d.rule == BY_DEFAULT ? root.defaultIds : config.rules[d.rule].statIds, DECISION_ALLOWED, 0);
    let shadowName = "";
    if (d.shadowDeny) {
      shadowName = d.shadowRule == BY_DEFAULT ? RULE_DEFAULT : config.rules[d.shadowRule].name;
      root.stats!.decision(shadowName, d.shadowRule == BY_DEFAULT ? root.defaultIds : config.rules[d.shadowRule].statIds,
        DECISION_SHADOW_DENIED, d.shadowCode);
      const m = p.decode();
      root.stats!.denial(m.service, m.method, DECISION_SHADOW_DENIED, d.shadowCode);
    }
    const logged = config.auditLog == AUDIT_ALL || config.auditLog == AUDIT_ALLOWS || d.audits.length > 0 ||
      (d.shadowDeny && config.auditLog == AUDIT_DENIALS);
    this.stripCredentials();
    this.finish(ruleName, d.rule == BY_DEFAULT ? root.defaultRuleBytes : config.rules[d.rule].nameBytes, logged, false, 0,
      logged ? p.path() : "", shadowName);
    return FilterHeadersStatus.Continue;
  }

  private traceCredentials(): void {
    const id = this.root.identities;
    // States absent, valid, invalid are texts absent, valid, invalid, in that order.
    logDebug(text(Text.traceCredentials) + text(Text.absent + id.apiKey.state) + text(Text.traceUserPassword) +
      text(Text.absent + id.user.state) + text(Text.traceJwt) + text(Text.absent + id.jwtState));
  }

  /** A denial; `p` is the request's path, null when malformed (service and method "unknown"). */
  private deny(rule: string, ids: StaticArray<u32>, code: i32, reason: string, p: MethodPath | null,
               custom: string | null = null): FilterHeadersStatus {
    const root = this.root;
    const config = root.config;
    const m = p !== null ? p.decode() : null;
    const path = p !== null ? p.path() : text(Text.malformedPath);
    root.stats!.decision(rule, ids, DECISION_DENIED, code);
    const unknown = text(Text.unknown);
    root.stats!.denial(m !== null ? m.service : unknown, m !== null ? m.method : unknown, DECISION_DENIED, code);
    let message: string;
    const kind = text(code == CODE_UNAUTHENTICATED ? Text.unauthenticated : Text.permissionDenied);
    if (config.genericMessages) message = kind;
    else if (custom !== null) message = custom;
    else {
      message = text(Text.denialPrefix) + kind + (reason.length > 0 ? text(Text.colon) + reason : "") + text(Text.ruleOpen) + rule +
        text(Text.ruleClose);
    }
    sendGrpcError(code, message, null, text(Text.deniedDetails));
    const logged = config.auditLog == AUDIT_ALL || config.auditLog == AUDIT_DENIALS || root.decision.audits.length > 0;
    this.finish(rule, String.UTF8.encode(rule), logged, true, code, path, "");
    return FilterHeadersStatus.StopIteration;
  }

  private stripCredentials(): void {
    const config = this.root.config;
    if (!config.stripCredentials) return;
    const h = this.root.headers;
    const jwt = config.jwt;
    if (jwt !== null && !jwt.forward) removePresent(h, jwt.headerIndex);
    const keys = config.apiKeys;
    if (keys !== null) removePresent(h, keys.headerIndex);
    const users = config.users;
    if (users !== null) {
      removePresent(h, users.usernameIndex);
      removePresent(h, users.passwordIndex);
    }
  }

  /** Filter state and the audit log line. */
  private finish(rule: string, ruleBytes: ArrayBuffer, logged: bool, denied: bool, code: i32, method: string, shadowRule: string): void {
    const root = this.root;
    const config = root.config;
    if (config.filterState) {
      setFilterState(STATE_RULE, ruleBytes);
      const principalBytes = root.identities.principalBytes(config);
      if (principalBytes !== null) setFilterState(STATE_PRINCIPAL, principalBytes);
    }
    if (!logged) return;
    const principal = root.identities.principal(config);
    const d = root.decision;
    let line = text(Text.auditPolicy) + printable(config.policy) + text(Text.auditDecision) + text(denied ? Text.deny : Text.allow) +
      text(Text.auditCode) + code.toString() + text(Text.auditRule) + rule + text(Text.auditMethod) + printable(method) +
      text(Text.auditPrincipal) + (principal === null || principal.length == 0 ? text(Text.none) : printable(principal));
    if (shadowRule.length > 0) {
      line += text(Text.auditShadow) + shadowRule + text(Text.auditShadowCode) + d.shadowCode.toString();
    }
    if (d.audits.length > 0) line += text(Text.auditAuditRule) + config.rules[d.audits[0]].name;
    logInfo(line);
  }
}
