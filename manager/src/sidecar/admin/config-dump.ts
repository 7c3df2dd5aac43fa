/**
 * `/config_dump`: Envoy's envoy.admin.v3.ConfigDump built from the configuration as given
 * (source/server/admin/config_dump_handler.cc). `configs` holds, in Envoy's order, a
 * BootstrapConfigDump with the whole bootstrap, a ClustersConfigDump with each
 * `static_resources.clusters` entry as a static cluster, and a ListenersConfigDump with each
 * `static_resources.listeners` entry as a static listener. A provider that already returns
 * `{configs: [...]}` is passed through. `last_updated` is the time the dump was first built.
 */

const ADMIN = "type.googleapis.com/envoy.admin.v3.";

type Obj = Record<string, unknown>;

const isObj = (x: unknown): x is Obj => typeof x === "object" && x !== null && !Array.isArray(x);

function list(x: unknown, snake: string, camel: string): unknown[] {
  if (!isObj(x)) return [];
  const v = x[snake] ?? x[camel];
  return Array.isArray(v) ? v : [];
}

export function buildConfigDump(raw: unknown, lastUpdated: string): unknown {
  if (isObj(raw) && Array.isArray(raw["configs"])) return raw;
  const bootstrap = isObj(raw) ? raw : {};
  const sr = bootstrap["static_resources"] ?? bootstrap["staticResources"];
  const clusters = list(sr, "clusters", "clusters").map((cluster) => ({
    cluster: { "@type": "type.googleapis.com/envoy.config.cluster.v3.Cluster", ...(isObj(cluster) ? cluster : {}) },
    last_updated: lastUpdated,
  }));
  const listeners = list(sr, "listeners", "listeners").map((listener) => ({
    listener: { "@type": "type.googleapis.com/envoy.config.listener.v3.Listener", ...(isObj(listener) ? listener : {}) },
    last_updated: lastUpdated,
  }));
  return {
    configs: [
      { "@type": `${ADMIN}BootstrapConfigDump`, bootstrap, last_updated: lastUpdated },
      { "@type": `${ADMIN}ClustersConfigDump`, ...(clusters.length ? { static_clusters: clusters } : {}) },
      { "@type": `${ADMIN}ListenersConfigDump`, ...(listeners.length ? { static_listeners: listeners } : {}) },
    ],
  };
}
