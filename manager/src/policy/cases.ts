/**
 * `meshwasm policy test` cases: a YAML file read with positions (source.ts), each case a request
 * and what the policy must answer.
 *
 *   cases:
 *     - name: ci reads inventory            # required, unique
 *       method: /pkg.Svc/Method             # the :path (required)
 *       metadata: { x-api-key: secret }     # request headers: a string or a list of strings each
 *       token: eyJ...                       # a JWT sent in the policy's JWT header with its prefix
 *       peer: spiffe://cluster.local/ns/default/sa/web   # mTLS peer URI SAN ("" = TLS, no URI SAN)
 *       sourceIp: 10.1.2.3                  # the caller's address (IPv4 or IPv6)
 *       jwtAuthn: { payload: { iss: ..., sub: ... } }     # what Envoy's jwt_authn verified
 *       contentType: application/json       # default application/grpc
 *       now: 1767225600                     # unix seconds, or an RFC 3339 time (default: now)
 *       expect: { code: OK | PERMISSION_DENIED | 7 | UNAUTHENTICATED | 16 | ..., rule: name,
 *                 principal?: ..., message?: ... }
 */
import type { AuthCall } from "./wasm-runner.ts";
import type { Policy } from "./model.ts";
import { parseIp } from "./patterns.ts";
import { Issues, MapReader, parseSource, toPlain } from "./source.ts";

export const CODE_NAMES = [
  "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
  "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
  "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
];

export interface PolicyCase {
  name: string;
  line: number;
  call: AuthCall;
  expect: { code: number; rule?: string; principal?: string; message?: string };
}

/** "Bearer <token>" in the policy's JWT header (authorization unless the policy says otherwise). */
export function tokenHeader(policy: Policy, token: string): [string, string] {
  const jwt = policy.credentials.jwt;
  return [jwt?.header ?? "authorization", `${jwt?.prefix ?? "Bearer "}${token}`];
}

function parseNow(v: unknown): number | undefined {
  if (typeof v === "number" && Number.isFinite(v) && v >= 0) return v;
  if (typeof v === "string" && /^\d{4}-\d{2}-\d{2}T/.test(v)) {
    const ms = Date.parse(v);
    if (Number.isFinite(ms)) return ms / 1000;
  }
  return undefined;
}

export function parseCases(text: string, file: string, policy: Policy): PolicyCase[] {
  const issues = new Issues();
  const root = MapReader.of(parseSource(text, file), "", issues);
  const out: PolicyCase[] = [];
  if (root) {
    root.unknown(["cases"]);
    const names = new Set<string>();
    for (const it of root.list("cases", true, true) ?? []) {
      const c = MapReader.of(it.node, it.path, issues);
      if (!c) continue;
      c.unknown(["name", "method", "metadata", "token", "peer", "sourceIp", "jwtAuthn", "contentType", "now", "expect"]);
      const name = c.string("name", true) ?? "";
      if (names.has(name)) c.fail("name", `duplicate case name "${name}"`);
      names.add(name);
      const path = c.string("method", true) ?? "";
      const call: AuthCall = { path };
      const metadata: Array<[string, string]> = [];
      const md = c.map("metadata");
      for (const e of md?.node.entries ?? []) {
        md!.seen.add(e.key);
        const where = md!.at(e.key);
        if (e.key !== e.key.toLowerCase() || e.key.startsWith(":")) issues.add(e.keyPos, where, "expected a lower-case header name (pseudo-headers come from method)");
        const values = e.value.kind === "seq" ? e.value.items : [e.value];
        for (const v of values) {
          if (v.kind !== "scalar" || typeof v.value !== "string") issues.add(v, where, "expected a string or a list of strings");
          else metadata.push([e.key, v.value]);
        }
      }
      const token = c.string("token");
      if (token !== undefined) metadata.push(tokenHeader(policy, token));
      if (metadata.length) call.metadata = metadata;
      const peer = c.string("peer");
      if (peer !== undefined) call.peer = peer;
      const ip = c.string("sourceIp");
      if (ip !== undefined) {
        if (!parseIp(ip)) c.fail("sourceIp", "expected an IPv4 or IPv6 address");
        else call.source = ip.includes(":") ? `[${ip}]:40000` : `${ip}:40000`;
      }
      const jwtAuthn = c.map("jwtAuthn");
      if (jwtAuthn) {
        const payloads: Record<string, Record<string, unknown>> = {};
        for (const e of jwtAuthn.node.entries) {
          jwtAuthn.seen.add(e.key);
          if (e.value.kind !== "map") issues.add(e.value, jwtAuthn.at(e.key), "expected the verified payload (a mapping of claims)");
          else payloads[e.key] = toPlain(e.value) as Record<string, unknown>;
        }
        call.jwtAuthn = payloads;
      }
      const ct = c.string("contentType");
      if (ct !== undefined) call.contentType = ct;
      const nowNode = c.valueNode("now", false, "unix seconds or an RFC 3339 time");
      if (nowNode) {
        const now = parseNow(toPlain(nowNode));
        if (now === undefined) c.fail("now", "expected unix seconds or an RFC 3339 time");
        else call.nowSeconds = now;
      }
      const ex = c.map("expect", true);
      let code = 0;
      const expect: PolicyCase["expect"] = { code };
      if (ex) {
        ex.unknown(["code", "rule", "principal", "message"]);
        const codeNode = ex.valueNode("code", true, "a gRPC status name or number");
        const v = codeNode && toPlain(codeNode);
        if (typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 16) code = v;
        else if (typeof v === "string" && CODE_NAMES.includes(v)) code = CODE_NAMES.indexOf(v);
        else if (codeNode) ex.fail("code", `expected a gRPC status: 0-16 or one of ${CODE_NAMES.join(", ")}`);
        expect.code = code;
        const rule = ex.string("rule");
        if (rule !== undefined) expect.rule = rule;
        const principal = ex.string("principal");
        if (principal !== undefined) expect.principal = principal;
        const message = ex.string("message");
        if (message !== undefined) expect.message = message;
      }
      out.push({ name, line: it.node.line, call, expect });
    }
  }
  issues.throwIfAny(file);
  return out;
}
