/**
 * add-header: example filter. Wiring only — the root parses the configuration once
 * (config.ts), defines the metrics (stats.ts) and hands both to each stream (filter.ts).
 */
import { RootContext, HttpContextBase, registerRootContext } from "../../../sdk/context";
import { logError, logDebug } from "../../../sdk/hostcalls";
import { Config, parseConfig, configError } from "./config";
import { Stats } from "./stats";
import { AddHeaderHttp } from "./filter";
export * from "../../../sdk/abi/exports";

export class AddHeaderRoot extends RootContext {
  config: Config | null = null;
  stats: Stats = new Stats();

  onConfigure(configSize: u32): bool {
    const config = parseConfig(this.pluginConfiguration(configSize));
    if (config === null) {
      logError("add-header: invalid configuration: " + configError());
      return false;
    }
    if (!this.stats.define()) logError("add-header: could not define metric example_requests_total");
    this.config = config;
    logDebug("add-header: configured");
    return true;
  }

  createHttpContext(contextId: u32): HttpContextBase | null {
    const config = this.config;
    if (config === null) return null; // not configured: pass traffic through untouched
    return new AddHeaderHttp(contextId, this, config);
  }
}

registerRootContext((contextId: u32): RootContext => new AddHeaderRoot(contextId));
