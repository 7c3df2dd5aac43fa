/**
 * HttpConnectionManager.http_filters, in order. Each filter is selected by its typed_config
 * @type (Envoy >= 1.23 requires typed_config and no longer resolves filters by name, so
 * deprecated names such as "envoy.router" work only because the type decides). Supported:
 * Wasm, StatefulSession with the header-based session state, JwtAuthentication
 * (parse-jwt-authn.ts) and Router. As in Envoy, the
 * terminal router must be the last filter and the last filter must be terminal.
 */
import type { HttpFilterConfig } from "./model.ts";
import { Ctx, Message, bool, listOfMessages, msg, str } from "./fields.ts";
import { openTyped, unknownType } from "./typed-config.ts";
import { parseWasmFilter, WASM_TYPE } from "./parse-wasm.ts";
import { JWT_AUTHN_TYPE, parseJwtAuthn } from "./parse-jwt-authn.ts";

export const ROUTER_TYPE = "envoy.extensions.filters.http.router.v3.Router";
export const STATEFUL_SESSION_TYPE = "envoy.extensions.filters.http.stateful_session.v3.StatefulSession";
export const HEADER_SESSION_STATE_TYPE = "envoy.extensions.http.stateful_session.header.v3.HeaderBasedSessionState";

export function parseHttpFilters(ctx: Ctx, hcm: Message): HttpFilterConfig[] | undefined {
  const present = hcm.has("http_filters");
  const filters = listOfMessages(hcm, "http_filters", "envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter");
  if (filters.length === 0) {
    ctx.error(hcm.pathOf("http_filters"), present ? hcm.posOf("http_filters") : hcm.node, "the router filter (envoy.filters.http.router) is required as the last http filter");
    return undefined;
  }
  const out: HttpFilterConfig[] = [];
  let ok = true;
  filters.forEach((f, i) => {
    const last = i === filters.length - 1;
    const name = str(f, "name", { required: true, minLen: 1 }) ?? "";
    f.unsupported("config_discovery");
    f.unsupported("is_optional");
    f.unsupported("disabled");
    const tcAt = f.get("typed_config");
    f.done();
    if (!tcAt) {
      f.required("typed_config", "is required (Envoy selects the filter by its typed_config @type)");
      ok = false;
      return;
    }
    const typed = openTyped(ctx, tcAt);
    if (!typed) {
      ok = false;
      return;
    }
    const path = f.path;
    let parsed: HttpFilterConfig | undefined;
    switch (typed.type) {
      case ROUTER_TYPE:
        typed.msg.done();
        parsed = { kind: "router", name, path };
        if (!last) ctx.error(path, f.node, `terminal filter ${JSON.stringify(name)} (router) must be the last filter in the http filter chain`);
        break;
      case WASM_TYPE: {
        const plugin = parseWasmFilter(ctx, typed.msg);
        if (plugin) parsed = { kind: "wasm", name, path, plugin };
        break;
      }
      case STATEFUL_SESSION_TYPE: {
        const s = parseStatefulSession(ctx, typed.msg);
        if (s) parsed = { kind: "stateful_session", name, path, ...s };
        break;
      }
      case JWT_AUTHN_TYPE: {
        const j = parseJwtAuthn(ctx, typed.msg);
        if (j) parsed = { kind: "jwt_authn", name, path, ...j };
        break;
      }
      default:
        if (typed.type.startsWith("envoy.")) {
          ctx.error(path, f.node, `not supported by the local sidecar: http filter ${typed.type}`);
        } else {
          unknownType(ctx, typed, [WASM_TYPE, STATEFUL_SESSION_TYPE, JWT_AUTHN_TYPE, ROUTER_TYPE]);
        }
    }
    if (last && typed.type !== ROUTER_TYPE && (parsed || typed.type === WASM_TYPE || typed.type === STATEFUL_SESSION_TYPE || typed.type === JWT_AUTHN_TYPE)) {
      ctx.error(path, f.node, `non-terminal filter ${JSON.stringify(name)} is the last filter in the http filter chain; the router must be last`);
    }
    if (parsed) out.push(parsed);
    else ok = false;
  });
  return ok ? out : undefined;
}

function parseStatefulSession(ctx: Ctx, m: Message): { headerName: string; strict: boolean } | undefined {
  const strict = bool(m, "strict") ?? false;
  const ss = msg(m, "session_state", "envoy.config.core.v3.TypedExtensionConfig");
  m.done();
  if (!ss) {
    m.required("session_state", `is required by the local sidecar (a ${HEADER_SESSION_STATE_TYPE})`);
    return undefined;
  }
  str(ss, "name", { required: true, minLen: 1 });
  const tcAt = ss.get("typed_config");
  ss.done();
  if (!tcAt) {
    ss.required("typed_config");
    return undefined;
  }
  const typed = openTyped(ctx, tcAt);
  if (!typed) return undefined;
  if (typed.type !== HEADER_SESSION_STATE_TYPE) {
    if (typed.type.startsWith("envoy.")) ctx.error(typed.typeAt.path, typed.typeAt.node, `not supported by the local sidecar: session state ${typed.type}; use ${HEADER_SESSION_STATE_TYPE}`);
    else unknownType(ctx, typed, [HEADER_SESSION_STATE_TYPE]);
    return undefined;
  }
  const headerName = str(typed.msg, "name", { required: true, minLen: 1 });
  typed.msg.done();
  if (headerName === undefined) return undefined;
  return { headerName: headerName.toLowerCase(), strict };
}
