/**
 * parseBootstrap: Envoy v3 bootstrap text -> validated Bootstrap model, collecting every error.
 * Top level: node {id, cluster}, admin.address (access_log_path accepted only as /dev/null,
 * since the sidecar writes no admin access log), static_resources {listeners, clusters},
 * stats_config (parse-stats.ts). Cross-checks after parsing: unique
 * cluster names, unique listener names and addresses, every route cluster defined (Envoy's
 * validate_clusters default for static route tables).
 */
import type { Bootstrap, Cluster, Listener } from "./model.ts";
import { ConfigError } from "./config-error.ts";
import { Ctx, Message, asMessage, listOfMessages, msg, str, stringValue } from "./fields.ts";
import { detectFormat, parseSource, toPlain, type SourceFormat } from "./source-tree.ts";
import { socketAddress } from "./address.ts";
import { parseListener } from "./parse-listener.ts";
import { parseCluster } from "./parse-cluster.ts";
import { parseStatsConfig } from "./parse-stats.ts";

export interface ParseOptions {
  /** Name used in error messages, normally the file path as the user gave it. */
  sourceName: string;
  /** Directory relative file names (Wasm code) are resolved against. */
  baseDir: string;
  /** Default: from sourceName's extension, else sniffed from the text. */
  format?: SourceFormat;
  /** Environment for vm_config.environment_variables.host_env_keys (default process.env). */
  env?: Record<string, string | undefined>;
}

export function parseBootstrap(text: string, opts: ParseOptions): Bootstrap {
  const format = opts.format ?? detectFormat(opts.sourceName, text);
  const { root } = parseSource(text, opts.sourceName, format);
  const ctx = new Ctx(format, opts.baseDir, opts.env ?? process.env);
  const rootMsg = asMessage(ctx, { node: root, path: "" }, "envoy.config.bootstrap.v3.Bootstrap");
  if (!rootMsg) {
    ctx.issues[0]!.message = "the bootstrap must be an object";
    throw new ConfigError(opts.sourceName, ctx.issues);
  }
  const bootstrap = readBootstrap(ctx, rootMsg, toPlain(root));
  if (ctx.issues.length > 0) {
    const sorted = [...ctx.issues].sort((a, b) => a.line - b.line || a.column - b.column);
    throw new ConfigError(opts.sourceName, sorted);
  }
  return bootstrap;
}

function readBootstrap(ctx: Ctx, m: Message, raw: unknown): Bootstrap {
  const out: Bootstrap = { listeners: [], clusters: [], stats: { useAllDefaultTags: true, statsTags: [], histogramBucketSettings: [] }, raw };
  const node = msg(m, "node", "envoy.config.core.v3.Node");
  if (node) {
    const n: { id?: string; cluster?: string } = {};
    const id = str(node, "id");
    if (id !== undefined) n.id = id;
    const cluster = str(node, "cluster");
    if (cluster !== undefined) n.cluster = cluster;
    node.done();
    out.node = n;
  }
  const admin = msg(m, "admin", "envoy.config.bootstrap.v3.Admin");
  if (admin) {
    const logAt = admin.get("access_log_path");
    if (logAt) {
      const p = stringValue(ctx, logAt);
      if (p !== undefined && p !== "/dev/null") ctx.error(logAt.path, logAt.node, "not supported by the local sidecar: only /dev/null (no admin access log)");
    }
    const address = socketAddress(admin, "address", { ipOnly: true, required: false, why: "Envoy does not resolve hostnames in the admin address" });
    admin.done();
    if (address) out.admin = { address };
  }
  const sr = msg(m, "static_resources", "envoy.config.bootstrap.v3.Bootstrap.StaticResources");
  let clusterMsgs: Message[] = [];
  if (sr) {
    for (const l of listOfMessages(sr, "listeners", "envoy.config.listener.v3.Listener")) {
      const listener = parseListener(ctx, l);
      if (listener) {
        checkListenerUnique(ctx, out.listeners, listener, l);
        out.listeners.push(listener);
      }
    }
    clusterMsgs = listOfMessages(sr, "clusters", "envoy.config.cluster.v3.Cluster");
    for (const c of clusterMsgs) {
      const namePos = c.posOf("name");
      const cluster = parseCluster(ctx, c);
      if (!cluster) continue;
      if (out.clusters.some((x) => x.name === cluster.name)) {
        ctx.error(c.pathOf("name"), namePos, `duplicate cluster name ${JSON.stringify(cluster.name)}`);
        continue;
      }
      out.clusters.push(cluster);
    }
    sr.done();
  }
  out.stats = parseStatsConfig(ctx, m);
  m.done();
  checkClusterRefs(ctx, clusterMsgs, out.clusters);
  return out;
}

function checkListenerUnique(ctx: Ctx, seen: Listener[], l: Listener, m: Message): void {
  if (seen.some((x) => x.name === l.name)) {
    ctx.error(m.pathOf("name"), m.posOf("name"), `duplicate listener name ${JSON.stringify(l.name)}`);
  }
  const clash = seen.find((x) => x.address.portValue !== 0 && x.address.portValue === l.address.portValue && x.address.address === l.address.address);
  if (clash) {
    ctx.error(m.pathOf("address"), m.posOf("address"), `listener ${JSON.stringify(clash.name)} already uses ${l.address.address}:${l.address.portValue}`);
  }
}

function checkClusterRefs(ctx: Ctx, clusterMsgs: Message[], clusters: Cluster[]): void {
  // A cluster that failed validation still counts as defined, so its route is not reported twice.
  const names = new Set(clusters.map((c) => c.name));
  for (const c of clusterMsgs) {
    const n = c.node.entries.find((e) => e.key === "name")?.value;
    if (n?.kind === "scalar" && typeof n.value === "string") names.add(n.value);
  }
  for (const ref of ctx.clusterRefs) {
    if (!names.has(ref.name)) ctx.error(ref.path, ref.at, `unknown cluster ${JSON.stringify(ref.name)} (not in static_resources.clusters)`);
  }
}
