/**
 * The bytes of the metric adapter module (see i64-adapter.ts for why it exists and
 * metric-fast-table.ts for the memory it shares with the host). Assembled here instruction by
 * instruction (WebAssembly core spec 1.0, binary format §5); `metric-adapter-module.test.ts`
 * checks them against wabt's assembly of the WAT below.
 *
 * Memory layout (the host's FastMetricTable writes every field except the hot ones):
 *   0: i32 enabled (1 while the VM runs guest code outside start-up and the allocator)
 *   4: i32 updates answered in Wasm (the VM's host-call count adds it)
 *   8: i32 dirty (set by every update answered in Wasm; the host clears it when it folds)
 *  12: i32 capacity: metric indexes (id >>> 2) below it have a slot
 *  16 + (id >>> 2) * 32 + (id & 1) * 16: the slot of a counter (type 0) or gauge (type 1) id:
 *      +0 i64 pending delta, +8 i32 state (1: defined and foldable), +12 i32 touched.
 *
 * In WAT ($ji / $jr: the JavaScript implementations taking the i64 as two i32 halves; any case
 * not handled here, with the same arguments, so their results and traps stay the host's):
 *   (module
 *     (import "h" "i" (func $ji (param i32 i32 i32) (result i32)))
 *     (import "h" "r" (func $jr (param i32 i32 i32) (result i32)))
 *     (import "h" "m" (memory 1))
 *     (func (export "i") (param $id i32) (param $d i64) (result i32) (local $a i32) (local $old i64) (local $new i64)
 *       (block $slow
 *         (br_if $slow (i32.eqz (i32.load (i32.const 0))))
 *         (br_if $slow (i32.and (local.get $id) (i32.const 2)))                 ;; histogram or type 3
 *         (br_if $slow (i32.ge_u (i32.shr_u (local.get $id) (i32.const 2)) (i32.load offset=12 (i32.const 0))))
 *         (local.set $a (i32.add (i32.shl (i32.and (local.get $id) (i32.const -4)) (i32.const 3))
 *                                (i32.shl (i32.and (local.get $id) (i32.const 1)) (i32.const 4))))
 *         (br_if $slow (i32.eqz (i32.load offset=24 (local.get $a))))            ;; not defined here
 *         (local.set $old (i64.load offset=16 (local.get $a)))
 *         (local.set $new (i64.add (local.get $old) (local.get $d)))
 *         (if (i32.and (local.get $id) (i32.const 1))
 *           (then ;; gauge: a signed overflow of the pending sum goes to the host
 *             (br_if $slow (i64.lt_s (i64.and (i64.xor (local.get $old) (local.get $new))
 *                                             (i64.xor (local.get $d) (local.get $new))) (i64.const 0))))
 *           (else ;; counter: delta <= 0 (BadArgument) or a carry goes to the host
 *             (br_if $slow (i64.le_s (local.get $d) (i64.const 0)))
 *             (br_if $slow (i64.lt_u (local.get $new) (local.get $old)))))
 *         (i64.store offset=16 (local.get $a) (local.get $new))
 *         (i32.store offset=28 (local.get $a) (i32.const 1))
 *         (i32.store offset=8 (i32.const 0) (i32.const 1))
 *         (i32.store offset=4 (i32.const 0) (i32.add (i32.load offset=4 (i32.const 0)) (i32.const 1)))
 *         (return (i32.const 0)))
 *       (call $ji (local.get $id) (i32.wrap_i64 (local.get $d)) (i32.wrap_i64 (i64.shr_u (local.get $d) (i64.const 32)))))
 *     (func (export "r") (param $id i32) (param $v i64) (result i32) (local $a i32) (local $old i64) (local $new i64)
 *       (block $slow
 *         (br_if $slow (i32.eqz (i32.load (i32.const 0))))
 *         (br_if $slow (i32.and (local.get $id) (i32.const 3)))                 ;; counters only
 *         (br_if $slow (i32.ge_u (i32.shr_u (local.get $id) (i32.const 2)) (i32.load offset=12 (i32.const 0))))
 *         (local.set $a (i32.shl (local.get $id) (i32.const 3)))
 *         (br_if $slow (i32.eqz (i32.load offset=24 (local.get $a))))
 *         (local.set $old (i64.load offset=16 (local.get $a)))
 *         (local.set $new (i64.add (local.get $old) (local.get $v)))
 *         (br_if $slow (i64.lt_u (local.get $new) (local.get $old)))              ;; u64 carry
 *         (i64.store offset=16 (local.get $a) (local.get $new))
 *         (i32.store offset=28 (local.get $a) (i32.const 1))
 *         (i32.store offset=8 (i32.const 0) (i32.const 1))
 *         (i32.store offset=4 (i32.const 0) (i32.add (i32.load offset=4 (i32.const 0)) (i32.const 1)))
 *         (return (i32.const 0)))
 *       (call $jr (local.get $id) (i32.wrap_i64 (local.get $v)) (i32.wrap_i64 (i64.shr_u (local.get $v) (i64.const 32))))))
 */

// Opcodes (binary format §5.4).
const BLOCK = 0x02, IF = 0x04, ELSE = 0x05, END = 0x0b, BR_IF = 0x0d, RETURN = 0x0f, CALL = 0x10;
const LOCAL_GET = 0x20, LOCAL_SET = 0x21;
const I32_LOAD = 0x28, I64_LOAD = 0x29, I32_STORE = 0x36, I64_STORE = 0x37;
const I32_CONST = 0x41, I64_CONST = 0x42;
const I32_EQZ = 0x45, I32_GE_U = 0x4f, I64_LT_S = 0x53, I64_LT_U = 0x54, I64_LE_S = 0x57;
const I32_ADD = 0x6a, I32_AND = 0x71, I32_SHL = 0x74, I32_SHR_U = 0x76;
const I64_ADD = 0x7c, I64_AND = 0x83, I64_XOR = 0x85, I64_SHR_U = 0x88, I32_WRAP_I64 = 0xa7;
const VOID = 0x40, I32 = 0x7f, I64 = 0x7e;

/** Unsigned LEB128. */
function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 (32-bit values). */
function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) return [...out, b];
    out.push(b | 0x80);
  }
}

const i32c = (n: number) => [I32_CONST, ...sleb(n)];
const get = (i: number) => [LOCAL_GET, i];
const set = (i: number) => [LOCAL_SET, i];
/** A load or store with its natural alignment and `offset`. */
const mem = (op: number, offset: number) => [op, op === I64_LOAD || op === I64_STORE ? 3 : 2, ...uleb(offset)];

const ID = 0, VALUE = 1, ADDR = 2, OLD = 3, NEW = 4;

/** Shared head: enabled, the type test `typeMask`, the capacity check. */
function checks(typeMask: number): number[] {
  return [
    ...i32c(0), ...mem(I32_LOAD, 0), I32_EQZ, BR_IF, 0,
    ...get(ID), ...i32c(typeMask), I32_AND, BR_IF, 0,
    ...get(ID), ...i32c(2), I32_SHR_U, ...i32c(0), ...mem(I32_LOAD, 12), I32_GE_U, BR_IF, 0,
  ];
}

/** Loads the slot's pending sum into $old and $old + value into $new (after the defined test). */
const sum = [
  ...get(ADDR), ...mem(I32_LOAD, 24), I32_EQZ, BR_IF, 0,
  ...get(ADDR), ...mem(I64_LOAD, 16), ...set(OLD),
  ...get(OLD), ...get(VALUE), I64_ADD, ...set(NEW),
];

/** Stores $new, marks the slot touched and the table dirty, counts the update, returns Ok. */
const commit = [
  ...get(ADDR), ...get(NEW), ...mem(I64_STORE, 16),
  ...get(ADDR), ...i32c(1), ...mem(I32_STORE, 28),
  ...i32c(0), ...i32c(1), ...mem(I32_STORE, 8),
  ...i32c(0), ...i32c(0), ...mem(I32_LOAD, 4), ...i32c(1), I32_ADD, ...mem(I32_STORE, 4),
  ...i32c(0), RETURN,
];

/** The slow path: the host import `fn` with (id, low half, high half). */
const callHost = (fn: number) => [
  ...get(ID), ...get(VALUE), I32_WRAP_I64, ...get(VALUE), I64_CONST, 32, I64_SHR_U, I32_WRAP_I64, CALL, fn,
];

const incrementBody = [
  BLOCK, VOID,
  ...checks(2),
  ...get(ID), ...i32c(-4), I32_AND, ...i32c(3), I32_SHL,
  ...get(ID), ...i32c(1), I32_AND, ...i32c(4), I32_SHL, I32_ADD, ...set(ADDR),
  ...sum,
  ...get(ID), ...i32c(1), I32_AND,
  IF, VOID,
  ...get(OLD), ...get(NEW), I64_XOR, ...get(VALUE), ...get(NEW), I64_XOR, I64_AND, I64_CONST, 0, I64_LT_S, BR_IF, 1,
  ELSE,
  ...get(VALUE), I64_CONST, 0, I64_LE_S, BR_IF, 1,
  ...get(NEW), ...get(OLD), I64_LT_U, BR_IF, 1,
  END,
  ...commit,
  END,
  ...callHost(0),
  END,
];

const recordBody = [
  BLOCK, VOID,
  ...checks(3),
  ...get(ID), ...i32c(3), I32_SHL, ...set(ADDR),
  ...sum,
  ...get(NEW), ...get(OLD), I64_LT_U, BR_IF, 0,
  ...commit,
  END,
  ...callHost(1),
  END,
];

/** A function body: locals $a i32, $old and $new i64, then `code`. */
const body = (code: number[]) => {
  const full = [0x02, 0x01, I32, 0x02, I64, ...code];
  return [...uleb(full.length), ...full];
};

const section = (id: number, content: number[]) => [id, ...uleb(content.length), ...content];
const name = (s: string) => [s.length, ...[...s].map((c) => c.charCodeAt(0))];

export const METRIC_ADAPTER_BYTES = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  // types: 0 = (i32 i32 i32) -> i32, 1 = (i32 i64) -> i32
  ...section(1, [0x02, 0x60, 0x03, I32, I32, I32, 0x01, I32, 0x60, 0x02, I32, I64, 0x01, I32]),
  // imports: h.i and h.r (functions of type 0), h.m (memory, at least 1 page)
  ...section(2, [0x03, ...name("h"), ...name("i"), 0x00, 0x00, ...name("h"), ...name("r"), 0x00, 0x00, ...name("h"), ...name("m"), 0x02, 0x00, 0x01]),
  // functions 2 and 3, of type 1
  ...section(3, [0x02, 0x01, 0x01]),
  // exports: "i" = function 2, "r" = function 3
  ...section(7, [0x02, ...name("i"), 0x00, 0x02, ...name("r"), 0x00, 0x03]),
  ...section(10, [0x02, ...body(incrementBody), ...body(recordBody)]),
]);
