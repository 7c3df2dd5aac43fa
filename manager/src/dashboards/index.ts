/**
 * Dashboards as code: every dashboard meshwasm ships, rendered to the files `meshwasm dashboard`
 * writes (deploy/grafana/ in the repository): `<uid>.json` (the dashboard, for import or file
 * provisioning) and `<uid>-dashboard.configmap.yaml` (for Grafana's ConfigMap sidecar). Pure:
 * the CLI does the writing.
 */
import { buildGrpcDashboard, GRPC_DASHBOARD_UID } from "./grpc-dashboard.ts";
import { configMapYaml, dashboardConfigMap } from "./configmap.ts";

export interface DashboardFile {
  /** File name inside the output folder. */
  name: string;
  content: string;
}

/** Every shipped dashboard: uid -> dashboard JSON model. */
export function dashboards(): Array<{ uid: string; dashboard: ReturnType<typeof buildGrpcDashboard> }> {
  return [{ uid: GRPC_DASHBOARD_UID, dashboard: buildGrpcDashboard() }];
}

export function renderDashboardFiles(): DashboardFile[] {
  const files: DashboardFile[] = [];
  for (const { uid, dashboard } of dashboards()) {
    files.push({ name: `${uid}.json`, content: `${JSON.stringify(dashboard, null, 2)}\n` });
    files.push({ name: `${uid}-dashboard.configmap.yaml`, content: configMapYaml(dashboardConfigMap(uid, dashboard)) });
  }
  return files;
}
