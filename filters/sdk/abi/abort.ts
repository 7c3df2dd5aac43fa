/**
 * The module's `abort` handler, wired with `--use abort=filters/sdk/abi/abort/proxyAbort`
 * (asconfig.json). AssemblyScript's default imports `env.abort`, which no proxy-wasm host
 * provides (Envoy fails the link on unknown imports, ABI note §1.1). This handler logs the
 * message at critical level through `proxy_log` and then traps, so the module imports nothing
 * outside the proxy-wasm ABI. In Envoy a trap marks the VM failed (fail-closed 503 / fail-open,
 * §2.8) — aborts are for broken host contracts, never for traffic.
 */
import { proxy_log, LogLevel } from "./imports";

export function proxyAbort(message: string | null, fileName: string | null, line: u32, column: u32): void {
  let text = "abort: " + (message !== null ? message : "(no message)");
  if (fileName !== null) text += " at " + fileName + ":" + line.toString() + ":" + column.toString();
  const buf = String.UTF8.encode(text);
  proxy_log(LogLevel.Critical, changetype<usize>(buf), <usize>buf.byteLength);
  unreachable();
}
