/**
 * envoy.extensions.filters.http.wasm.v3.Wasm -> WasmPluginConfig. Code comes from
 * vm_config.code.local (filename resolved against the config file's directory and read now,
 * inline_bytes base64, or inline_string); remote code is not supported. Runtimes v8, wamr and
 * wasmtime all run on the sidecar's WebAssembly engine; "null" (compiled-in plugins) cannot.
 * failure_policy (Envoy >= 1.33) wins over the deprecated fail_open; UNSPECIFIED falls back to
 * fail_open, then FAIL_CLOSED. host_env_keys are read from the environment (missing ones are
 * skipped, as in Envoy); a key in both lists is an error, as in Envoy.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { WasmPluginConfig } from "./model.ts";
import { Ctx, Message, bool, duration, enumOf, msg, str, stringList, stringValue } from "./fields.ts";
import { decodeBase64, wasmConfigurationBytes } from "./typed-config.ts";

export const WASM_TYPE = "envoy.extensions.filters.http.wasm.v3.Wasm";

const RUNTIMES = ["envoy.wasm.runtime.v8", "envoy.wasm.runtime.wamr", "envoy.wasm.runtime.wasmtime"];
const FAILURE_POLICIES = ["UNSPECIFIED", "FAIL_RELOAD", "FAIL_CLOSED", "FAIL_OPEN"] as const;

export function parseWasmFilter(ctx: Ctx, wasm: Message): WasmPluginConfig | undefined {
  const config = msg(wasm, "config", "envoy.extensions.wasm.v3.PluginConfig");
  wasm.done();
  if (!config) {
    wasm.required("config");
    return undefined;
  }
  return parsePluginConfig(ctx, config);
}

function parsePluginConfig(ctx: Ctx, m: Message): WasmPluginConfig | undefined {
  const name = str(m, "name") ?? "";
  const rootId = str(m, "root_id") ?? "";
  const configuration = wasmConfigurationBytes(ctx, m.get("configuration"));
  const failOpen = bool(m, "fail_open") ?? false;
  const policyAt = m.get("failure_policy");
  let policy: (typeof FAILURE_POLICIES)[number] | undefined;
  if (policyAt) {
    const n = policyAt.node;
    policy = n.kind === "scalar" && typeof n.value === "string" && n.value.toUpperCase() === "FAIL_UNSPECIFIED" ? "UNSPECIFIED" : enumOf(ctx, policyAt, FAILURE_POLICIES);
  }
  const failurePolicy = policy === undefined || policy === "UNSPECIFIED" ? (failOpen ? "FAIL_OPEN" : "FAIL_CLOSED") : policy;
  let reloadBackoffBaseMs = 1000;
  const reload = msg(m, "reload_config", "envoy.extensions.wasm.v3.ReloadConfig");
  if (reload) {
    const backoff = msg(reload, "backoff", "envoy.config.core.v3.BackoffStrategy");
    if (backoff) {
      const base = duration(backoff, "base_interval", { required: true, minMs: 1 });
      const max = duration(backoff, "max_interval", { gt0: true });
      if (base !== undefined) reloadBackoffBaseMs = base;
      if (base !== undefined && max !== undefined && max < base) {
        ctx.error(backoff.pathOf("max_interval"), backoff.posOf("max_interval"), "max_interval must be greater than or equal to base_interval");
      }
      backoff.done();
    }
    reload.done();
  }
  const allowOnHeadersStopIteration = bool(m, "allow_on_headers_stop_iteration") ?? false;
  const vm = msg(m, "vm_config", "envoy.extensions.wasm.v3.VmConfig");
  m.done();
  if (!vm) {
    m.required("vm_config");
    return undefined;
  }
  const vmId = str(vm, "vm_id") ?? "";
  const runtime = str(vm, "runtime", { required: true, minLen: 1 });
  if (runtime === "envoy.wasm.runtime.null") {
    ctx.error(vm.pathOf("runtime"), vm.posOf("runtime"), "not supported by the local sidecar: envoy.wasm.runtime.null runs plugins compiled into Envoy; use envoy.wasm.runtime.v8");
  } else if (runtime !== undefined && !RUNTIMES.includes(runtime)) {
    ctx.error(vm.pathOf("runtime"), vm.posOf("runtime"), `unknown Wasm runtime ${JSON.stringify(runtime)}; expected one of ${RUNTIMES.join(", ")}`);
  }
  const vmConfiguration = wasmConfigurationBytes(ctx, vm.get("configuration"));
  bool(vm, "allow_precompiled");
  bool(vm, "nack_on_code_cache_miss");
  const environmentVariables = parseEnvironment(ctx, vm);
  const code = parseCode(ctx, vm);
  vm.done();
  if (runtime === undefined || !RUNTIMES.includes(runtime) || !code || !environmentVariables) return undefined;
  return {
    name,
    rootId,
    vmId,
    runtime,
    code: code.bytes,
    codeSource: code.source,
    vmConfiguration,
    configuration,
    environmentVariables,
    failurePolicy,
    reloadBackoffBaseMs,
    allowOnHeadersStopIteration,
  };
}

function parseCode(ctx: Ctx, vm: Message): { bytes: Uint8Array; source: string } | undefined {
  const code = msg(vm, "code", "envoy.config.core.v3.AsyncDataSource");
  if (!code) {
    vm.required("code");
    return undefined;
  }
  code.unsupported("remote", "use code.local.filename (fetch the module first, e.g. with `meshwasm pull`)");
  const local = msg(code, "local", "envoy.config.core.v3.DataSource");
  const hadRemote = code.has("remote");
  code.done();
  if (!local) {
    if (!hadRemote) code.required("local");
    return undefined;
  }
  const given = ["filename", "inline_bytes", "inline_string", "environment_variable", "watched_directory"].filter((k) => local.has(k));
  if (given.length > 1) ctx.error(local.pathOf(given[1]!), local.posOf(given[1]!), `only one of ${given.join(", ")} may be set`);
  let out: { bytes: Uint8Array; source: string } | undefined;
  const fileAt = local.get("filename");
  if (fileAt) {
    const filename = stringValue(ctx, fileAt);
    if (filename !== undefined) {
      const full = resolve(ctx.baseDir, filename);
      try {
        out = { bytes: new Uint8Array(readFileSync(full)), source: full };
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        ctx.error(fileAt.path, fileAt.node, `cannot read Wasm file ${full}: ${err.code === "ENOENT" ? "no such file" : err.message}`);
      }
    }
  }
  const bytesAt = local.get("inline_bytes");
  if (bytesAt) {
    const bytes = decodeBase64(ctx, bytesAt);
    if (bytes) out = { bytes, source: "<inline>" };
  }
  const inline = str(local, "inline_string");
  if (inline !== undefined) out = { bytes: new TextEncoder().encode(inline), source: "<inline>" };
  local.unsupported("environment_variable", "use filename or inline_bytes");
  local.unsupported("watched_directory");
  local.done();
  if (!out && given.length === 0) local.required("filename", "one of filename, inline_bytes or inline_string is required");
  return given.length <= 1 ? out : undefined;
}

function parseEnvironment(ctx: Ctx, vm: Message): Record<string, string> | undefined {
  const env = msg(vm, "environment_variables", "envoy.extensions.wasm.v3.EnvironmentVariables");
  const out: Record<string, string> = {};
  if (!env) return out;
  let ok = true;
  const hostKeys = stringList(env, "host_env_keys");
  for (const { value } of hostKeys) {
    const v = ctx.env[value];
    if (v !== undefined) out[value] = v;
  }
  const kvAt = env.get("key_values");
  if (kvAt) {
    if (kvAt.node.kind !== "map") {
      ctx.error(kvAt.path, kvAt.node, "expected object");
      ok = false;
    } else {
      for (const e of kvAt.node.entries) {
        const at = { node: e.value, path: `${kvAt.path}.${e.key}` };
        const v = stringValue(ctx, at);
        if (v === undefined) {
          ok = false;
          continue;
        }
        if (hostKeys.some((h) => h.value === e.key)) {
          ctx.error(at.path, e.keyPos, "key is also in host_env_keys");
          ok = false;
          continue;
        }
        out[e.key] = v;
      }
    }
  }
  env.done();
  return ok ? out : undefined;
}
