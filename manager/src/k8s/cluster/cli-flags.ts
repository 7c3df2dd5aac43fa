/**
 * Flags shared by the commands that talk to a cluster (`deploy`, `diff`, `status`, `rollback`,
 * `undeploy`, and `sidecar --kubeconfig`). Only commander's types are imported, so registering
 * commands stays cheap.
 */
import type { Command } from "commander";

export interface ClusterFlags {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

export function addClusterFlags(cmd: Command, namespaceHelp = "namespace (default: the context's, else \"default\")"): Command {
  return cmd
    .option("--kubeconfig <file>", "kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)")
    .option("--context <name>", "kubeconfig context (default: its current-context)")
    .option("-n, --namespace <ns>", namespaceHelp);
}
