/**
 * Case tables of the host conformance suite, shared by the tests that run them and by the
 * coverage test (imports-coverage.test.ts), which fails when an import of §1.3/§1.4 is not
 * called by any of them.
 *
 * Status codes: Ok 0, NotFound 1, BadArgument 2, ParseFailure 4, Empty 7, Unimplemented 12.
 */
import { out, type Arg, type Callback } from "./hostcalls-guest.ts";

const OK = 0;
const NOT_FOUND = 1;
const BAD_ARGUMENT = 2;
const PARSE_FAILURE = 4;
const UNIMPLEMENTED = 12;

export const ROOT_CALLBACKS: readonly Callback[] = [
  "root_create",
  "vm_start",
  "configure",
  "tick",
  "http_call_response",
  "queue_ready",
  "root_done",
  "root_delete",
];

export interface Probe {
  name: string;
  call: string;
  args: Arg[];
  /** A status, or one computed from the callback (and whether it runs in a root context). */
  expect: number | ((cb: Callback, isRoot: boolean) => number);
  /** Callbacks the probe is not run from. */
  skip?: Callback[];
  /** Changes the effective context: run after every other probe of the callback. */
  last?: boolean;
}

const only = (cbs: Callback[], inside: number, outside: number) => (cb: Callback) => (cbs.includes(cb) ? inside : outside);
const rootOr = (root: number, stream: number) => (_cb: Callback, isRoot: boolean) => (isRoot ? root : stream);
const Q = { load: out(10) };
const COUNTER = { load: out(9) };

/** Probes run from every callback the host drives (hostcalls-table.test.ts). */
export const EVERY_CALLBACK_PROBES: readonly Probe[] = [
  // logging and time
  { name: "log info", call: "proxy_log", args: [2, "probe"], expect: OK },
  { name: "log level 6", call: "proxy_log", args: [6, "probe"], expect: BAD_ARGUMENT },
  { name: "get_log_level", call: "proxy_get_log_level", args: [out(0)], expect: OK },
  { name: "current time", call: "proxy_get_current_time_nanoseconds", args: [out(1)], expect: OK },
  { name: "tick period", call: "proxy_set_tick_period_milliseconds", args: [1000], expect: OK },
  // properties (root contexts see only plugin_* and xds.node; envoy PR #32077)
  { name: "plugin_root_id", call: "proxy_get_property", args: ["plugin_root_id", out(2), out(2) + 4], expect: OK },
  { name: "xds.node", call: "proxy_get_property", args: ["xds\0node", out(2), out(2) + 4], expect: OK },
  { name: "request.path", call: "proxy_get_property", args: ["request\0path", out(2), out(2) + 4], expect: rootOr(NOT_FOUND, OK) },
  { name: "source.address", call: "proxy_get_property", args: ["source\0address", out(2), out(2) + 4], expect: rootOr(NOT_FOUND, OK) },
  { name: "set_property", call: "proxy_set_property", args: ["probe_prop", "v"], expect: rootOr(NOT_FOUND, OK) },
  // buffers (Envoy Context::getBuffer)
  { name: "buffer vm_configuration", call: "proxy_get_buffer_bytes", args: [6, 0, 4, out(3), out(3) + 4], expect: OK },
  {
    name: "buffer plugin_configuration",
    call: "proxy_get_buffer_bytes",
    args: [7, 0, 4, out(3), out(3) + 4],
    expect: only(["root_create", "configure"], OK, NOT_FOUND),
  },
  {
    name: "buffer http_call_response_body",
    call: "proxy_get_buffer_bytes",
    args: [4, 0, 4, out(3), out(3) + 4],
    expect: only(["http_call_response"], OK, NOT_FOUND),
  },
  { name: "buffer request_body", call: "proxy_get_buffer_bytes", args: [0, 0, 4, out(3), out(3) + 4], expect: OK },
  { name: "buffer response_body", call: "proxy_get_buffer_bytes", args: [1, 0, 4, out(3), out(3) + 4], expect: OK },
  { name: "buffer downstream_data", call: "proxy_get_buffer_bytes", args: [2, 0, 4, out(3), out(3) + 4], expect: OK },
  { name: "buffer grpc_receive", call: "proxy_get_buffer_bytes", args: [5, 0, 4, out(3), out(3) + 4], expect: OK },
  { name: "buffer type 9", call: "proxy_get_buffer_bytes", args: [9, 0, 4, out(3), out(3) + 4], expect: BAD_ARGUMENT },
  { name: "buffer_status vm_configuration", call: "proxy_get_buffer_status", args: [6, out(4), out(4) + 4], expect: OK },
  {
    name: "buffer_status plugin_configuration",
    call: "proxy_get_buffer_status",
    args: [7, out(4), out(4) + 4],
    expect: only(["root_create", "configure"], OK, NOT_FOUND),
  },
  { name: "buffer_status type 9", call: "proxy_get_buffer_status", args: [9, out(4), out(4) + 4], expect: BAD_ARGUMENT },
  { name: "set vm_configuration", call: "proxy_set_buffer_bytes", args: [6, 0, 0, "x"], expect: BAD_ARGUMENT },
  { name: "set type 9", call: "proxy_set_buffer_bytes", args: [9, 0, 0, "x"], expect: BAD_ARGUMENT },
  // header maps (Envoy getMap / getConstMap; on_log reads the access-log maps)
  {
    name: "get :path",
    call: "proxy_get_header_map_value",
    args: [0, ":path", out(5), out(5) + 4],
    expect: only(["request_headers", "log"], OK, BAD_ARGUMENT),
  },
  {
    name: "get :status",
    call: "proxy_get_header_map_value",
    args: [2, ":status", out(5), out(5) + 4],
    expect: only(["response_headers", "log"], OK, BAD_ARGUMENT),
  },
  {
    name: "get request trailer",
    call: "proxy_get_header_map_value",
    args: [1, "rq-trailer", out(5), out(5) + 4],
    expect: (cb) => (cb === "request_trailers" ? OK : cb === "log" ? NOT_FOUND : BAD_ARGUMENT),
  },
  {
    name: "get response trailer",
    call: "proxy_get_header_map_value",
    args: [3, "rt", out(5), out(5) + 4],
    expect: only(["response_trailers", "log"], OK, BAD_ARGUMENT),
  },
  {
    name: "get http_call :status",
    call: "proxy_get_header_map_value",
    args: [6, ":status", out(5), out(5) + 4],
    expect: (cb) => (cb === "http_call_response" ? OK : cb === "log" ? NOT_FOUND : BAD_ARGUMENT),
  },
  // In the access-log phase a map that is not there is NotFound rather than BadArgument.
  { name: "get grpc metadata", call: "proxy_get_header_map_value", args: [4, "x", out(5), out(5) + 4], expect: only(["log"], NOT_FOUND, BAD_ARGUMENT) },
  { name: "get map type 8", call: "proxy_get_header_map_value", args: [8, "x", out(5), out(5) + 4], expect: BAD_ARGUMENT },
  { name: "pairs request headers", call: "proxy_get_header_map_pairs", args: [0, out(6), out(6) + 4], expect: OK },
  { name: "pairs map type 8", call: "proxy_get_header_map_pairs", args: [8, out(6), out(6) + 4], expect: BAD_ARGUMENT },
  { name: "size request headers", call: "proxy_get_header_map_size", args: [0, out(7)], expect: only(["request_headers"], OK, BAD_ARGUMENT) },
  {
    name: "add response header",
    call: "proxy_add_header_map_value",
    args: [2, "x-probe", "1"],
    expect: only(["response_headers"], OK, BAD_ARGUMENT),
  },
  { name: "add http_call header", call: "proxy_add_header_map_value", args: [6, "x-probe", "1"], expect: BAD_ARGUMENT },
  { name: "size http_call headers", call: "proxy_get_header_map_size", args: [6, out(7)], expect: BAD_ARGUMENT },
  {
    name: "replace request header",
    call: "proxy_replace_header_map_value",
    args: [0, "x-probe", "2"],
    expect: only(["request_headers"], OK, BAD_ARGUMENT),
  },
  {
    name: "remove response header",
    call: "proxy_remove_header_map_value",
    args: [2, "x-none"],
    expect: only(["response_headers"], OK, BAD_ARGUMENT),
  },
  { name: "set pairs http_call headers", call: "proxy_set_header_map_pairs", args: [6, new Uint8Array(0)], expect: BAD_ARGUMENT },
  // stream control (Envoy Context::continueStream / closeStream)
  { name: "continue downstream", call: "proxy_continue_stream", args: [2], expect: OK },
  { name: "continue upstream", call: "proxy_continue_stream", args: [3], expect: UNIMPLEMENTED },
  { name: "continue type 9", call: "proxy_continue_stream", args: [9], expect: BAD_ARGUMENT },
  { name: "close downstream", call: "proxy_close_stream", args: [2], expect: OK },
  { name: "close upstream", call: "proxy_close_stream", args: [3], expect: OK },
  { name: "close type 9", call: "proxy_close_stream", args: [9], expect: BAD_ARGUMENT },
  { name: "get_status", call: "proxy_get_status", args: [out(8), out(12), out(12) + 4], expect: OK },
  // shared data and queues
  { name: "set shared", call: "proxy_set_shared_data", args: ["hc-key", "v", 0], expect: OK },
  { name: "get shared", call: "proxy_get_shared_data", args: ["hc-key", out(13), out(13) + 4, out(14)], expect: OK },
  { name: "get shared missing", call: "proxy_get_shared_data", args: ["hc-missing", out(13), out(13) + 4, out(14)], expect: NOT_FOUND },
  { name: "resolve queue", call: "proxy_resolve_shared_queue", args: ["", "q", out(15)], expect: OK },
  { name: "resolve unknown queue", call: "proxy_resolve_shared_queue", args: ["", "nope", out(15)], expect: NOT_FOUND },
  { name: "enqueue", call: "proxy_enqueue_shared_queue", args: [Q, "m"], expect: OK, skip: ["queue_ready", "root_create", "vm_start"] },
  { name: "register other queue", call: "proxy_register_shared_queue", args: ["q-other", out(21)], expect: OK },
  { name: "dequeue unknown", call: "proxy_dequeue_shared_queue", args: [0x7fffff00, out(22), out(22) + 4], expect: NOT_FOUND },
  { name: "enqueue unknown", call: "proxy_enqueue_shared_queue", args: [0x7fffff00, "m"], expect: NOT_FOUND },
  // metrics
  { name: "define counter", call: "proxy_define_metric", args: [0, "hc_probe", out(16)], expect: OK },
  { name: "define type 3", call: "proxy_define_metric", args: [3, "hc_probe", out(16)], expect: BAD_ARGUMENT },
  { name: "increment", call: "proxy_increment_metric", args: [COUNTER, 1n], expect: OK, skip: ["root_create", "vm_start"] },
  { name: "record", call: "proxy_record_metric", args: [COUNTER, 2n], expect: OK, skip: ["root_create", "vm_start"] },
  { name: "get metric", call: "proxy_get_metric", args: [COUNTER, out(17)], expect: OK, skip: ["root_create", "vm_start"] },
  // callouts
  { name: "http_call unknown cluster", call: "proxy_http_call", args: ["nowhere", new Uint8Array(0), "", "", 0, out(18)], expect: BAD_ARGUMENT },
  {
    name: "grpc_call unknown",
    call: "proxy_grpc_call",
    args: ["nowhere", "svc", "m", new Uint8Array(0), "", 0, out(18)],
    expect: PARSE_FAILURE,
  },
  { name: "grpc_stream unknown", call: "proxy_grpc_stream", args: ["nowhere", "svc", "m", new Uint8Array(0), out(18)], expect: PARSE_FAILURE },
  { name: "grpc_send bad token", call: "proxy_grpc_send", args: [4, "x", 0], expect: BAD_ARGUMENT },
  { name: "grpc_send unknown stream", call: "proxy_grpc_send", args: [6, "x", 0], expect: NOT_FOUND },
  { name: "grpc_cancel unknown", call: "proxy_grpc_cancel", args: [5], expect: NOT_FOUND },
  { name: "grpc_close unknown", call: "proxy_grpc_close", args: [6], expect: NOT_FOUND },
  // A local reply from a root context has no stream to answer: Ok, nothing sent (Envoy).
  {
    name: "send_local_response from root",
    call: "proxy_send_local_response",
    args: [403, "denied", "body", new Uint8Array(0), -1],
    expect: OK,
    skip: ["create", "request_headers", "request_body", "request_trailers", "response_headers", "response_body", "response_trailers", "log", "done", "delete"],
  },
  // foreign functions and done
  { name: "foreign unknown", call: "proxy_call_foreign_function", args: ["nope", "", out(19), out(19) + 4], expect: NOT_FOUND },
  { name: "proxy_done not pending", call: "proxy_done", args: [], expect: NOT_FOUND },
  // emscripten / pthread stubs and a WASI call from every callback
  { name: "emscripten_notify_memory_growth", call: "emscripten_notify_memory_growth", args: [0], expect: 0 },
  { name: "pthread_equal", call: "pthread_equal", args: [3, 3], expect: 1 },
  { name: "clock_time_get", call: "wasi_snapshot_preview1.clock_time_get", args: [0, 0n, out(20)], expect: 0 },
  // effective context, last
  { name: "set_effective_context unknown", call: "proxy_set_effective_context", args: [999], expect: BAD_ARGUMENT, last: true },
  { name: "set_effective_context root", call: "proxy_set_effective_context", args: [1], expect: OK, last: true },
];

/** One WASI call and Envoy's errno (cpp-host src/exports.cc; reference §1.4). */
export interface WasiCase {
  name: string;
  args: Arg[];
  errno: number;
}

const BADF = 8;
const INVAL = 28;
const NOENT = 44;
const NOSYS = 52;
const NOTSUP = 58;
/** An iovec at out(40) pointing at "hello\n" is written by the test before the call. */
export const IOVEC = out(40);

/** Every WASI function, run under both wasi_snapshot_preview1 and wasi_unstable (wasi.test.ts). */
export const WASI_CASES: readonly WasiCase[] = [
  { name: "fd_write", args: [1, IOVEC, 1, out(41)], errno: 0 },
  { name: "fd_read", args: [0, IOVEC, 1, out(41)], errno: NOSYS },
  { name: "fd_seek", args: [1, 0n, 0, out(42)], errno: 0 },
  { name: "fd_close", args: [1], errno: 0 },
  { name: "fd_fdstat_get", args: [1, out(43)], errno: 0 },
  { name: "fd_fdstat_set_flags", args: [1, 0], errno: NOSYS },
  { name: "fd_prestat_get", args: [3, out(47)], errno: BADF },
  { name: "fd_prestat_dir_name", args: [3, out(47), 8], errno: NOSYS },
  { name: "path_open", args: [3, 0, "f", 0, 0n, 0n, 0, out(47)], errno: NOENT },
  { name: "environ_sizes_get", args: [out(48), out(49)], errno: 0 },
  { name: "environ_get", args: [out(50), out(60)], errno: 0 },
  { name: "args_sizes_get", args: [out(51), out(52)], errno: 0 },
  { name: "args_get", args: [out(53), out(54)], errno: 0 },
  { name: "clock_time_get", args: [1, 0n, out(55)], errno: 0 },
  { name: "clock_res_get", args: [0, out(56)], errno: 0 },
  { name: "random_get", args: [out(57), 8], errno: 0 },
  { name: "sched_yield", args: [], errno: 0 },
  { name: "poll_oneoff", args: [out(58), out(59), 1, out(70)], errno: 0 },
  { name: "proc_exit", args: [0], errno: 0 },
  { name: "fd_advise", args: [3, 0n, 0n, 0], errno: BADF },
  { name: "fd_allocate", args: [3, 0n, 0n], errno: BADF },
  { name: "fd_datasync", args: [3], errno: BADF },
  { name: "fd_filestat_get", args: [3, out(71)], errno: BADF },
  { name: "fd_filestat_set_size", args: [3, 0n], errno: BADF },
  { name: "fd_filestat_set_times", args: [3, 0n, 0n, 0], errno: BADF },
  { name: "fd_pread", args: [3, IOVEC, 1, 0n, out(72)], errno: BADF },
  { name: "fd_pwrite", args: [3, IOVEC, 1, 0n, out(72)], errno: BADF },
  { name: "fd_readdir", args: [3, out(73), 8, 0n, out(74)], errno: BADF },
  { name: "fd_renumber", args: [3, 4], errno: BADF },
  { name: "fd_sync", args: [3], errno: BADF },
  { name: "fd_tell", args: [3, out(75)], errno: BADF },
  { name: "fd_fdstat_set_rights", args: [1, 0n, 0n], errno: NOTSUP },
  { name: "path_create_directory", args: [3, "d"], errno: NOTSUP },
  { name: "path_filestat_get", args: [3, 0, "f", out(76)], errno: NOTSUP },
  { name: "path_filestat_set_times", args: [3, 0, "f", 0n, 0n, 0], errno: NOTSUP },
  { name: "path_link", args: [3, 0, "a", 3, "b"], errno: NOTSUP },
  { name: "path_readlink", args: [3, "a", out(77), 8, out(78)], errno: NOTSUP },
  { name: "path_remove_directory", args: [3, "d"], errno: NOTSUP },
  { name: "path_rename", args: [3, "a", 3, "b"], errno: NOTSUP },
  { name: "path_symlink", args: ["a", 3, "b"], errno: NOTSUP },
  { name: "path_unlink_file", args: [3, "f"], errno: NOTSUP },
  { name: "sock_accept", args: [3, 0, out(79)], errno: NOTSUP },
  { name: "sock_recv", args: [3, IOVEC, 1, 0, out(80), out(81)], errno: NOTSUP },
  { name: "sock_send", args: [3, IOVEC, 1, 0, out(80)], errno: NOTSUP },
  { name: "sock_shutdown", args: [3, 0], errno: NOTSUP },
  { name: "proc_raise", args: [6], errno: NOTSUP },
  // error paths
  { name: "fd_write", args: [5, IOVEC, 1, out(41)], errno: BADF },
  { name: "fd_fdstat_get", args: [7, out(43)], errno: BADF },
  { name: "clock_time_get", args: [2, 0n, out(55)], errno: NOTSUP },
  { name: "random_get", args: [out(57), 65537], errno: INVAL },
];
