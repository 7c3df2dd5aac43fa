/**
 * Envoy's Wasm log line (envoy source/extensions/common/wasm/context.cc `Context::log` and
 * `ContextBase::log_prefix`): "wasm log<prefix>: <msg>", where the prefix is
 * " <filter name> <root_id> <vm_id>" for stream contexts and " <root_id> <vm_id>" for root
 * contexts, each empty part omitted. With every part empty the line is "wasm log: <msg>".
 */
export function formatLogLine(
  msg: string,
  parts: { filterName?: string; rootId?: string; vmId?: string; isStream: boolean },
): string {
  const fields = parts.isStream ? [parts.filterName, parts.rootId, parts.vmId] : [parts.rootId, parts.vmId];
  let prefix = "";
  for (const f of fields) if (f) prefix += ` ${f}`;
  return `wasm log${prefix}: ${msg}`;
}
