/**
 * Envoy's default tag extractors, in Envoy's order (source/common/config/well_known_names.cc,
 * TagNameValues). Two kinds, as in Envoy:
 * - "re2": a regex whose first capture group is removed from the name and whose second is
 *   the tag value, with an optional `substr` prefilter and an optional negative match (a
 *   value that must not become a tag, e.g. listener "admin");
 * - "tokens": a dot-separated pattern where `$` is the captured token, `*` any one token and
 *   `**` any number of tokens.
 * Envoy registers every regex descriptor first, then every tokenized one.
 */

export interface RegexDescriptor {
  kind: "re2";
  name: string;
  regex: string;
  substr: string;
  negativeMatch: string;
}

export interface TokensDescriptor {
  kind: "tokens";
  name: string;
  pattern: string;
}

export type TagDescriptor = RegexDescriptor | TokensDescriptor;

const TAG_VALUE = String.raw`[^\.]+`;

/** Envoy's expandRegex(): readable placeholders in the regexes below. */
function expand(regex: string): string {
  return regex
    .replaceAll("<ADDRESS>", String.raw`(?:(?:\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[[a-fA-F_\d]+\])_\d+)`)
    .replaceAll("<CIPHER>", String.raw`[\w-]+`)
    .replaceAll("<TLS_VERSION>", String.raw`TLSv\d\.\d`)
    .replaceAll("<TAG_VALUE>", TAG_VALUE)
    .replaceAll("<ROUTE_CONFIG_NAME>", String.raw`[\w\-\.]+`)
    .replaceAll("<LISTENER_OR_CLUSTER_WITH_NAME>", String.raw`(?:listener|cluster)\..*?`);
}

const re2 = (name: string, regex: string, substr = "", negativeMatch = ""): RegexDescriptor => ({
  kind: "re2",
  name,
  regex: expand(regex),
  substr,
  negativeMatch,
});
const tokens = (name: string, pattern: string): TokensDescriptor => ({ kind: "tokens", name, pattern });

const REGEX_DESCRIPTORS: RegexDescriptor[] = [
  re2("envoy.response_code", String.raw`_rq(_(\d{3}))$`, "_rq_"),
  re2("envoy.response_code_class", String.raw`_rq_((\d))xx$`, "_rq_"),
  re2(
    "envoy.dynamo_partition_id",
    String.raw`^http\.<TAG_VALUE>\.dynamodb\.table\.<TAG_VALUE>\.capacity\.<TAG_VALUE>(\.__partition_id=(\w{7}))$`,
    ".dynamodb.table.",
  ),
  re2(
    "envoy.dynamo_operation",
    String.raw`^http\.<TAG_VALUE>\.dynamodb.(?:operation|table\.<TAG_VALUE>\.capacity)(\.(<TAG_VALUE>))(?:\.|$)`,
    ".dynamodb.",
  ),
  re2("envoy.dynamo_table", String.raw`^http\.<TAG_VALUE>\.dynamodb.(?:table|error)\.((<TAG_VALUE>)\.)`, ".dynamodb."),
  re2("envoy.ssl_cipher", String.raw`^listener\..*?\.ssl\.ciphers(\.(<CIPHER>))$`, ".ssl.ciphers."),
  re2("envoy.ssl_curve", String.raw`^<LISTENER_OR_CLUSTER_WITH_NAME>\.ssl\.curves(\.(<CIPHER>))$`, ".ssl.curves."),
  re2("envoy.ssl_sigalg", String.raw`^<LISTENER_OR_CLUSTER_WITH_NAME>\.ssl\.sigalgs(\.(<CIPHER>))$`, ".ssl.sigalgs."),
  re2("envoy.ssl_version", String.raw`^<LISTENER_OR_CLUSTER_WITH_NAME>\.ssl\.versions(\.(<TLS_VERSION>))$`, ".ssl.versions."),
  re2("cipher_suite", String.raw`^cluster\.<TAG_VALUE>\.ssl\.ciphers(\.(<CIPHER>))$`, ".ssl.ciphers."),
  re2("envoy.http_conn_manager_prefix", String.raw`^listener\..*?\.http\.((<TAG_VALUE>)\.)`, ".http."),
  re2(
    "envoy.worker_id",
    String.raw`^(?:listener\.(?:<ADDRESS>|<TAG_VALUE>)\.|server\.|listener_manager\.)worker_((\d+)\.)`,
  ),
  re2("envoy.listener_address", String.raw`^listener\.((<ADDRESS>|<TAG_VALUE>)\.)`, "", "admin"),
  re2("envoy.rds_route_config", String.raw`^http\.<TAG_VALUE>\.rds\.((<ROUTE_CONFIG_NAME>)\.)\w+?$`, ".rds."),
];

const TOKENS_DESCRIPTORS: TokensDescriptor[] = [
  tokens("envoy.mongo_callsite", "mongo.*.collection.*.callsite.$.query.**"),
  tokens("envoy.mongo_collection", "mongo.*.collection.$.**.query.*"),
  tokens("envoy.mongo_cmd", "mongo.*.cmd.$.**"),
  tokens("envoy.grpc_bridge_method", "cluster.*.grpc.*.$.**"),
  tokens("envoy.http_user_agent", "http.*.user_agent.$.**"),
  tokens("envoy.virtual_cluster", "vhost.*.vcluster.$.**"),
  tokens("envoy.fault_downstream_cluster", "http.*.fault.$.**"),
  tokens("envoy.grpc_bridge_service", "cluster.*.grpc.$.**"),
  tokens("envoy.tcp_prefix", "tcp.$.**"),
  tokens("envoy.udp_prefix", "udp.$.**"),
  tokens("envoy.clientssl_prefix", "auth.clientssl.$.**"),
  tokens("envoy.ratelimit_prefix", "ratelimit.$.**"),
  tokens("envoy.cluster_name", "cluster.$.**"),
  tokens("envoy.ext_authz_prefix", "cluster.*.ext_authz.$.**"),
  tokens("envoy.ext_authz_prefix", "http.*.ext_authz.$.**"),
  tokens("envoy.http_conn_manager_prefix", "http.$.**"),
  tokens("envoy.virtual_host", "vhost.$.**"),
  tokens("envoy.mongo_prefix", "mongo.$.**"),
  tokens("envoy.route", "vhost.*.route.$.**"),
  tokens("envoy.thrift_prefix", "thrift.$.**"),
  tokens("envoy.redis_prefix", "redis.$.**"),
  tokens("envoy.local_http_ratelimit_prefix", "$.http_local_rate_limit.**"),
  tokens("envoy.local_network_ratelimit_prefix", "local_rate_limit.$.**"),
  tokens("envoy.local_listener_ratelimit_prefix", "listener_local_ratelimit.$.**"),
  tokens("envoy.dns_filter_prefix", "dns_filter.$.**"),
];

/** Every default descriptor in Envoy's registration order. */
export const DEFAULT_TAG_DESCRIPTORS: readonly TagDescriptor[] = Object.freeze([
  ...REGEX_DESCRIPTORS,
  ...TOKENS_DESCRIPTORS,
]);
