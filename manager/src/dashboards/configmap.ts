/**
 * A dashboard as the Kubernetes ConfigMap that Grafana's dashboard sidecar (kiwigrid/k8s-sidecar,
 * as the Grafana Helm chart and kube-prometheus-stack run it) loads: label
 * `grafana_dashboard: "1"`, one `<uid>.json` data key holding the dashboard JSON (indented, as a
 * YAML block, about 20 KB: far below the 1 MiB object limit that makes Istio compact its
 * dashboard ConfigMaps), and the `grafana_folder` annotation the chart's `folderAnnotation` reads. No namespace: the
 * ConfigMap goes where the sidecar looks (`kubectl apply -n <namespace>`). Pure.
 */
import { stringify } from "yaml";

export interface ConfigMap {
  apiVersion: "v1";
  kind: "ConfigMap";
  metadata: { name: string; labels: Record<string, string>; annotations: Record<string, string> };
  data: Record<string, string>;
}

export function dashboardConfigMap(uid: string, dashboard: unknown, folder = "meshwasm"): ConfigMap {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: `${uid}-dashboard`,
      labels: { grafana_dashboard: "1", "app.kubernetes.io/part-of": "meshwasm" },
      annotations: { grafana_folder: folder },
    },
    data: { [`${uid}.json`]: `${JSON.stringify(dashboard, null, 2)}\n` },
  };
}

/** The ConfigMap as a YAML document. */
export function configMapYaml(cm: ConfigMap): string {
  return stringify(cm, { lineWidth: 0, blockQuote: "literal" });
}
