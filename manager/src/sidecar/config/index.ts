/**
 * The sidecar's Envoy v3 bootstrap subset: parse + validate with path-precise errors.
 * See parse-bootstrap.ts for the supported fields and README for differences from Envoy.
 */
export type * from "./model.ts";
export { ConfigError, formatIssue, type ConfigIssue } from "./config-error.ts";
export { parseBootstrap, type ParseOptions } from "./parse-bootstrap.ts";
export { loadBootstrapFile } from "./load-bootstrap.ts";
export { jsonName, joinPath, NOT_SUPPORTED } from "./fields.ts";
export type { EndpointWithHealth } from "./parse-cluster.ts";
