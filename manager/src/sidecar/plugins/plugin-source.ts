/**
 * Where a WasmPluginSet's resources come from when it is not a `--plugins` directory: a source
 * reads the current set of WasmPlugin / TrafficExtension resources (validated, as the model
 * k8s/wasmplugin gives them), tells the set when they may have changed, and may resolve the
 * Secrets an `imagePullSecret` names (istiod looks them up in the plugin's namespace).
 * cluster-source.ts follows an API server.
 */
import type { ExtensionPlugin } from "../../k8s/wasmplugin/index.ts";
import type { PullSecret } from "./pull-secrets.ts";

export interface PluginSource {
  /** Names the source in log lines. */
  readonly name: string;
  read(): Promise<ExtensionPlugin[]>;
  /** Starts following changes: `onChange` after each one (the set debounces). Returns a stop function. */
  watch(onChange: () => void): () => void;
  /** The Secret `name` of `namespace`, or undefined when it does not exist. */
  pullSecret?(namespace: string, name: string): Promise<PullSecret | undefined>;
}
