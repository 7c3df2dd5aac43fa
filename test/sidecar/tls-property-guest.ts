/**
 * A proxy-wasm guest (WAT) that echoes properties into response headers, so end-to-end tests
 * see what a filter reads through proxy_get_property: for each (header, path) pair, in
 * proxy_on_response_headers, the header is set to the property's bytes in lower-case hex, or to
 * "!<status>" when the host answers with a status other than Ok (e.g. "!1" for NotFound).
 * Paths are lists of segments, joined with NUL as the ABI wants.
 */
import { Guest, OUT_LEN, OUT_PTR } from "../conformance/guest.ts";

export interface EchoedProperty {
  header: string;
  path: string[];
}

/** Decodes an echoed header: the bytes, or the status number when the read failed. */
export function echoedValue(value: string | undefined): { bytes?: Buffer; status?: number } {
  if (value === undefined) throw new Error("property header missing");
  if (value.startsWith("!")) return { status: Number(value.slice(1)) };
  return { bytes: Buffer.from(value, "hex") };
}

export function echoedString(value: string | undefined): string | undefined {
  const v = echoedValue(value);
  return v.bytes?.toString("latin1");
}

export function propertyEchoGuest(props: EchoedProperty[]): Guest {
  const g = new Guest();
  const table = g.bytes(new TextEncoder().encode("0123456789abcdef"));
  const tablePtr = /i32\.const (\d+)/.exec(table)![1];
  g.raw(`(func $hex (param $src i32) (param $len i32) (result i32) (local $dst i32) (local $i i32) (local $b i32)
    (local.set $dst (call $alloc (i32.add (i32.shl (local.get $len) (i32.const 1)) (i32.const 8))))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
      (local.set $b (i32.load8_u (i32.add (local.get $src) (local.get $i))))
      (i32.store8 (i32.add (local.get $dst) (i32.shl (local.get $i) (i32.const 1)))
        (i32.load8_u (i32.add (i32.const ${tablePtr}) (i32.shr_u (local.get $b) (i32.const 4)))))
      (i32.store8 (i32.add (local.get $dst) (i32.add (i32.shl (local.get $i) (i32.const 1)) (i32.const 1)))
        (i32.load8_u (i32.add (i32.const ${tablePtr}) (i32.and (local.get $b) (i32.const 15)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (local.get $dst))`);
  g.raw(`(func $status (param $code i32) (result i32) (local $dst i32)
    (local.set $dst (call $alloc (i32.const 8)))
    (i32.store8 (local.get $dst) (i32.const 33))
    (i32.store8 (i32.add (local.get $dst) (i32.const 1)) (i32.add (i32.const 48) (i32.rem_u (i32.div_u (local.get $code) (i32.const 10)) (i32.const 10))))
    (i32.store8 (i32.add (local.get $dst) (i32.const 2)) (i32.add (i32.const 48) (i32.rem_u (local.get $code) (i32.const 10))))
    (local.get $dst))`);
  const body: string[] = ["(local $r i32)"];
  for (const p of props) {
    const path = g.bytes(new TextEncoder().encode(p.path.join("\0")));
    const header = g.str(p.header);
    body.push(`(local.set $r ${g.hc("proxy_get_property", path, OUT_PTR, OUT_LEN)})`);
    body.push(`(if (i32.eqz (local.get $r))
      (then (drop ${g.hc(
        "proxy_replace_header_map_value",
        2,
        header,
        `(call $hex (i32.load (i32.const ${OUT_PTR})) (i32.load (i32.const ${OUT_LEN})))`,
        `(i32.shl (i32.load (i32.const ${OUT_LEN})) (i32.const 1))`,
      )}))
      (else (drop ${g.hc("proxy_replace_header_map_value", 2, header, "(call $status (local.get $r))", "(i32.const 3)")})))`);
  }
  g.on("proxy_on_configure", "", "(i32.const 1)");
  g.on("proxy_on_response_headers", body.join("\n"), "(i32.const 0)");
  return g;
}
