/**
 * The filters istio-agent puts in place of a WasmPlugin whose module could not be fetched
 * (istio/istio `pkg/wasm/convert.go`, Istio >= 1.25): an Envoy RBAC filter
 * (source/extensions/filters/http/rbac) with
 * - FAIL_OPEN: no rules, `rules_stat_prefix: wasm-default-allow`: every request is allowed;
 * - FAIL_CLOSE (and FAIL_RELOAD): empty rules, `rules_stat_prefix: wasm-default-deny`: every
 *   request is denied with Envoy's RBAC local reply: 403, body "RBAC: access denied", details
 *   `rbac_access_denied_matched_policy[none]`, which a gRPC client sees as PERMISSION_DENIED (7).
 * Stats as Envoy's RBAC filter names them: `http.<stat_prefix>.rbac.<rules_stat_prefix>allowed`
 * / `…denied` (Filters::Common::RBAC::generateStats joins the rules prefix without a dot).
 *
 * And the filter Envoy runs for an ECDS filter that has no configuration — its first one was
 * rejected (e.g. the plugin's on_configure returned false) and it has no default_config, as
 * istiod sets none for WasmPlugins: Envoy's MissingConfigFilter (source/common/http/
 * filter_chain_helper.cc) answers every stream with a 500 local reply, no body, response flag
 * NFCF; a gRPC client gets a trailers-only UNKNOWN (2, Envoy's mapping of 500). The failure
 * policy plays no part: Envoy rejects the configuration before any VM serves a stream.
 */
import { HeadersStatus, PassThroughFilter, type StreamFilterFactory } from "../http/filter.ts";
import type { HeaderMap } from "../http/header-map.ts";
import type { Counter, StatsStore } from "../stats/types.ts";

export const DENY_RULES_STAT_PREFIX = "wasm-default-deny";
export const ALLOW_RULES_STAT_PREFIX = "wasm-default-allow";
export const RBAC_DENIED_DETAILS = "rbac_access_denied_matched_policy[none]";

class AllowAllFilter extends PassThroughFilter {
  constructor(private readonly allowed: Counter) {
    super();
  }
  override decodeHeaders(_h: HeaderMap, _e: boolean): HeadersStatus {
    this.allowed.inc();
    return HeadersStatus.Continue;
  }
}

class DenyAllFilter extends PassThroughFilter {
  constructor(private readonly denied: Counter) {
    super();
  }
  override decodeHeaders(_h: HeaderMap, _e: boolean): HeadersStatus {
    this.denied.inc();
    this.decoderCallbacks.sendLocalReply({ status: 403, body: "RBAC: access denied", details: RBAC_DENIED_DETAILS });
    return HeadersStatus.StopIteration;
  }
}

/** The RBAC fallback of a plugin that failed to fetch, on a listener with HCM `statPrefix`. */
export function fallbackFilterFactory(failOpen: boolean, stats: StatsStore, statPrefix: string): StreamFilterFactory {
  const base = `http.${statPrefix}.rbac.${failOpen ? ALLOW_RULES_STAT_PREFIX : DENY_RULES_STAT_PREFIX}`;
  if (failOpen) {
    const allowed = stats.counter(`${base}allowed`);
    return () => new AllowAllFilter(allowed);
  }
  const denied = stats.counter(`${base}denied`);
  return () => new DenyAllFilter(denied);
}

class MissingConfigFilter extends PassThroughFilter {
  override decodeHeaders(_h: HeaderMap, _e: boolean): HeadersStatus {
    this.decoderCallbacks.sendLocalReply({ status: 500, details: "", flag: "NFCF" });
    return HeadersStatus.StopIteration;
  }
}

/** Envoy's filter for an ECDS filter without a configuration (see the module comment). */
export function missingConfigFilterFactory(): StreamFilterFactory {
  return () => new MissingConfigFilter();
}
