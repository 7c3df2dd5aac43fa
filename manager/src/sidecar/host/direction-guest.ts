/**
 * A test guest (WAT, assembled with wabt) whose root logs, in proxy_on_configure, the
 * `xds.listener_direction` it reads there: "dir=0" / "dir=1" / "dir=2", or "dir=?" when the host
 * does not answer it; and "done" in proxy_on_done (contexts closed). For the tests of per-listener plugins (plugin.ts forListenerDirection,
 * plugins/plugin-set.ts).
 */
export async function directionGuest(): Promise<Uint8Array> {
  const wabt = await (await import("wabt")).default();
  const wat = `(module
    (import "env" "proxy_get_property" (func $get (param i32 i32 i32 i32) (result i32)))
    (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 1024) "xds\\00listener_direction")
    (data (i32.const 1100) "dir=0dir=1dir=2dir=?done")
    (global $heap (mut i32) (i32.const 4096))
    (func (export "malloc") (param $n i32) (result i32) (local $p i32)
      (local.set $p (global.get $heap)) (global.set $heap (i32.add (global.get $heap) (local.get $n))) (local.get $p))
    (func (export "proxy_abi_version_0_2_1"))
    (func (export "proxy_on_context_create") (param i32 i32))
    (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
    (func (export "proxy_on_configure") (param i32 i32) (result i32) (local $v i32)
      (local.set $v (i32.const 3))
      (if (i32.eqz (call $get (i32.const 1024) (i32.const 22) (i32.const 512) (i32.const 516)))
        (then (if (i32.eq (i32.load (i32.const 516)) (i32.const 8)) (then (local.set $v (i32.load (i32.load (i32.const 512))))))))
      (if (i32.gt_u (local.get $v) (i32.const 3)) (then (local.set $v (i32.const 3))))
      (drop (call $log (i32.const 2) (i32.add (i32.const 1100) (i32.mul (local.get $v) (i32.const 5))) (i32.const 5)))
      (i32.const 1))
    (func (export "proxy_on_done") (param i32) (result i32)
      (drop (call $log (i32.const 2) (i32.const 1120) (i32.const 4)))
      (i32.const 1))
    (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) (i32.const 0)))`;
  const mod = wabt.parseWat("direction.wat", wat);
  try {
    return new Uint8Array(mod.toBinary({}).buffer);
  } finally {
    mod.destroy();
  }
}
