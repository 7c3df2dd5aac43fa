/**
 * Which cluster a command talks to, as kubectl decides it: `--kubeconfig FILE`, else the files of
 * `$KUBECONFIG` (colon-separated, merged), else `~/.kube/config`; `--context NAME`, else the
 * file's current-context; the namespace from the context unless the command names one. Every
 * mistake is one line: a missing or malformed file, an unknown context (the known ones listed),
 * a context whose cluster or user is missing. Credentials are never printed.
 */
import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { UserError } from "../../errors.ts";

export interface ClusterTarget {
  kc: KubeConfig;
  context: string;
  server: string;
  /** The kubeconfig user entry's name (not a credential). */
  user: string;
  /** The context's namespace, when it sets one. */
  namespace?: string;
  /** Where the configuration came from, for messages. */
  source: string;
}

export interface KubeconfigOptions {
  kubeconfig?: string;
  context?: string;
  env?: NodeJS.ProcessEnv;
}

export function loadClusterTarget(opts: KubeconfigOptions = {}): ClusterTarget {
  const env = opts.env ?? process.env;
  const kc = new KubeConfig();
  let source: string;
  const load = (file: string, flag: string) => {
    if (!existsSync(file)) throw new UserError(`${flag}: ${file}: no such file`);
    try {
      kc.loadFromFile(file);
    } catch (e) {
      throw new UserError(`${flag}: ${file}: not a valid kubeconfig (${(e as Error).message.split("\n")[0]})`);
    }
  };
  if (opts.kubeconfig) {
    source = opts.kubeconfig;
    load(path.resolve(opts.kubeconfig), "--kubeconfig");
  } else if (env.KUBECONFIG) {
    const files = env.KUBECONFIG.split(path.delimiter).filter(Boolean);
    source = env.KUBECONFIG;
    const merged = new KubeConfig();
    for (const f of files) {
      if (!existsSync(f)) continue;
      const one = new KubeConfig();
      try {
        one.loadFromFile(f);
      } catch (e) {
        throw new UserError(`KUBECONFIG: ${f}: not a valid kubeconfig (${(e as Error).message.split("\n")[0]})`);
      }
      merged.mergeConfig(one, true);
    }
    if (merged.getContexts().length === 0) throw new UserError(`KUBECONFIG=${env.KUBECONFIG}: no context in any of its files`);
    kc.loadFromString(merged.exportConfig());
  } else {
    const file = path.join(env.HOME ?? os.homedir(), ".kube", "config");
    source = file;
    if (!existsSync(file)) throw new UserError(`no kubeconfig: pass --kubeconfig FILE, set KUBECONFIG, or create ${file}`);
    load(file, "kubeconfig");
  }
  const names = kc.getContexts().map((c) => c.name);
  const context = opts.context ?? kc.getCurrentContext();
  if (!context) throw new UserError(`${source}: no current-context; pass --context (contexts: ${names.join(", ") || "none"})`);
  if (!names.includes(context)) {
    throw new UserError(`${opts.context ? "--context" : "current-context"} ${JSON.stringify(context)}: no such context in ${source} (contexts: ${names.join(", ") || "none"})`);
  }
  kc.setCurrentContext(context);
  const ctx = kc.getContextObject(context)!;
  const cluster = kc.getCluster(ctx.cluster);
  if (!cluster) throw new UserError(`context ${JSON.stringify(context)} in ${source}: cluster ${JSON.stringify(ctx.cluster)} is not defined`);
  if (!kc.getUser(ctx.user)) throw new UserError(`context ${JSON.stringify(context)} in ${source}: user ${JSON.stringify(ctx.user)} is not defined`);
  return { kc, context, server: cluster.server, user: ctx.user, ...(ctx.namespace ? { namespace: ctx.namespace } : {}), source };
}
