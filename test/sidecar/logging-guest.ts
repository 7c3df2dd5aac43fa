/**
 * A proxy-wasm guest for logging tests: on every request it reads proxy_get_log_level into the
 * gauge `wasm_log_level` and logs "at-trace", "at-debug", "at-info" and "at-warn" at those levels.
 */
import { Guest, OUT_3, OUT_PTR } from "../conformance/guest.ts";

export function loggingGuest(): Guest {
  const g = new Guest();
  g.raw("(global $level (mut i32) (i32.const 0))");
  g.on("proxy_on_configure", `(drop ${g.hc("proxy_define_metric", 1, g.str("wasm_log_level"), OUT_3)}) (global.set $level (i32.load (i32.const ${OUT_3})))`, "(i32.const 1)");
  g.on(
    "proxy_on_request_headers",
    [
      `(drop ${g.hc("proxy_get_log_level", OUT_PTR)})`,
      `(drop ${g.hc("proxy_record_metric", "(global.get $level)", `(i64.extend_i32_u (i32.load (i32.const ${OUT_PTR})))`)})`,
      g.log("at-trace", 0),
      g.log("at-debug", 1),
      g.log("at-info", 2),
      g.log("at-warn", 3),
    ].join("\n"),
    "(i32.const 0)",
  );
  return g;
}

