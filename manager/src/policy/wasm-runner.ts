/**
 * Runs the real grpc-auth filter (.wasm) in the proxy-wasm host (manager/src/sidecar/host) with a
 * compiled policy and sends it requests, as `meshwasm policy test` / `explain` and the tests do.
 * What a request can carry: the `:path`, metadata (request headers), the content-type, a TLS peer
 * (its URI SAN, as Envoy's `connection.uri_san_peer_certificate` shows it), the source address,
 * a jwt_authn payload in the dynamic metadata, and the wall-clock time.
 *
 * The outcome is read from what the filter did: the local reply (grpc-status / HTTP status and
 * message), the headers it let through, the filter state `wasm.grpc_auth_rule` /
 * `wasm.grpc_auth_principal`, its log lines (with `trace` lines at debug level), and its counters.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import {
  createPlugin,
  createTestEnvironment,
  openTestStream,
  testPluginConfig,
  VirtualClock,
  type Plugin,
  type TestEnvironment,
} from "../sidecar/host/index.ts";
import { LogLevel } from "../sidecar/host/abi.ts";
import { StreamInfo } from "../sidecar/http/stream-info.ts";
import { SslConnectionInfo } from "../sidecar/tls/connection-info.ts";
import { UserError } from "../errors.ts";

export const FILTER_ENTRY = "filters/grpc-auth/assembly/index.ts";
export const JWT_AUTHN_NAMESPACE = "envoy.filters.http.jwt_authn";

export interface AuthCall {
  /** The `:path`, e.g. "/pkg.Svc/Method". */
  path: string;
  /** Request headers besides the pseudo-headers and content-type (names lower-case). */
  metadata?: Array<[string, string]>;
  /** Default "application/grpc"; null sends none. */
  contentType?: string | null;
  /** A TLS peer: its certificate's URI SAN (undefined: plaintext; "" : TLS without a URI SAN). */
  peer?: string;
  /** Source address, "10.1.2.3:4567" or "[2001:db8::1]:4567" (default 127.0.0.1:40000). */
  source?: string;
  /** jwt_authn's verified payload(s): payload_in_metadata key -> claims. */
  jwtAuthn?: Record<string, Record<string, unknown>>;
  /** Wall-clock time in seconds (default: now). */
  nowSeconds?: number;
}

export interface AuthOutcome {
  allowed: boolean;
  /** grpc-status of the denial (0 when allowed). */
  code: number;
  /** HTTP status of a non-gRPC denial. */
  httpStatus?: number;
  message?: string;
  /** `wasm.grpc_auth_rule`. */
  rule?: string;
  /** `wasm.grpc_auth_principal`. */
  principal?: string;
  /** Headers the filter let through (allowed calls). */
  forwarded?: Array<[string, string]>;
  /** The filter's log lines for this call. */
  logs: string[];
}

/** A TLS connection whose peer presented a certificate with this URI SAN (no certificate parsing). */
class StatedPeer extends SslConnectionInfo {
  constructor(private readonly uri: string) {
    super("TLSv1.3", "", "h2", "TLS_AES_128_GCM_SHA256");
  }
  override get peerCertificatePresented(): boolean {
    return true;
  }
  override get uriSanPeerCertificate(): readonly string[] {
    return this.uri === "" ? [] : [this.uri];
  }
}

/** A virtual clock whose wall time tests and cases set. */
class SettableClock extends VirtualClock {
  wallNs = BigInt(Date.now()) * 1_000_000n;
  override nowWallNs(): bigint {
    return this.wallNs;
  }
}

/** The release build of the filter: build/filters/grpc-auth.wasm when present, else compiled now. */
export async function filterModule(repoRoot = process.cwd()): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(join(repoRoot, "build", "filters", "grpc-auth.wasm")));
  } catch {
    // The compiler is large: loaded only when there is no build to use.
    const { compileAssemblyScript } = await import("../build/index.ts");
    return compileAssemblyScript(FILTER_ENTRY, { target: "grpc-auth" });
  }
}

export class PolicyRunner {
  private constructor(
    readonly env: TestEnvironment,
    readonly plugin: Plugin,
    private readonly clock: SettableClock,
  ) {}

  /** Loads the filter with `pluginConfig`; a rejected configuration is a UserError with the filter's reason. */
  static async create(pluginConfig: string, opts: { wasm?: Uint8Array; logLevel?: LogLevel } = {}): Promise<PolicyRunner> {
    const base = createTestEnvironment({ logLevel: opts.logLevel ?? LogLevel.Info });
    const clock = new SettableClock();
    const env: TestEnvironment = { ...base, clock, shared: base.shared };
    const wasm = opts.wasm ?? (await filterModule());
    let plugin: Plugin;
    try {
      plugin = await createPlugin(
        testPluginConfig(wasm, {
          name: "grpc-auth",
          rootId: "grpc-auth",
          vmId: "",
          codeSource: "grpc-auth.wasm",
          configuration: new TextEncoder().encode(pluginConfig),
        }),
        env,
      );
    } catch (e) {
      const reason = env.logLines().find((l) => l.includes("invalid configuration")) ?? (e as Error).message;
      throw new UserError(`the grpc-auth filter rejected the configuration: ${reason}`);
    }
    return new PolicyRunner(env, plugin, clock);
  }

  run(call: AuthCall): AuthOutcome {
    if (call.nowSeconds !== undefined) this.clock.wallNs = BigInt(Math.floor(call.nowSeconds * 1000)) * 1_000_000n;
    else this.clock.wallNs = BigInt(Date.now()) * 1_000_000n;
    const info = new StreamInfo({ wallNs: this.clock.wallNs, monoNs: 0n });
    const source = call.source ?? "127.0.0.1:40000";
    const v6 = source.startsWith("[");
    const cut = v6 ? source.indexOf("]") : source.lastIndexOf(":");
    info.downstreamRemoteAddress = {
      address: v6 ? source.slice(1, cut) : source.slice(0, cut < 0 ? undefined : cut),
      port: Number(source.slice(v6 ? cut + 2 : cut + 1)) || 0,
    };
    if (call.peer !== undefined) info.downstreamSsl = new StatedPeer(call.peer);
    for (const [key, payload] of Object.entries(call.jwtAuthn ?? {})) {
      const ns = info.dynamicMetadata.get(JWT_AUTHN_NAMESPACE) ?? {};
      ns[key] = payload;
      info.dynamicMetadata.set(JWT_AUTHN_NAMESPACE, ns);
    }
    const before = this.env.logs.length;
    const s = openTestStream(this.plugin, { streamInfo: info });
    const headers: Array<[string, string]> = [
      [":method", "POST"],
      [":scheme", call.peer !== undefined ? "https" : "http"],
      [":path", call.path],
      [":authority", "policy.test"],
    ];
    if (call.contentType !== null) headers.push(["content-type", call.contentType ?? "application/grpc"]);
    headers.push(["te", "trailers"], ...(call.metadata ?? []));
    s.sendRequestHeaders(headers, false);
    const state = (key: string) => {
      const v = info.filterState.get(`wasm.${key}`);
      return v ? Buffer.from(v.bytes).toString("utf8") : undefined;
    };
    const reply = s.localReply;
    const grpc = (call.contentType === undefined || (call.contentType ?? "").startsWith("application/grpc"));
    const out: AuthOutcome = { allowed: reply === undefined, code: 0, logs: this.env.logLines().slice(before) };
    const rule = state("grpc_auth_rule");
    const principal = state("grpc_auth_principal");
    if (rule !== undefined) out.rule = rule;
    if (principal !== undefined) out.principal = principal;
    if (reply) {
      out.code = reply.grpcStatus ?? 2;
      if (!grpc) out.httpStatus = reply.status;
      const body = reply.body;
      out.message = typeof body === "string" ? body : new TextDecoder().decode(body ?? new Uint8Array());
    } else {
      out.forwarded = s.upstream.headers?.pairs().map(([k, v]) => [k, v] as [string, string]) ?? [];
    }
    s.complete();
    return out;
  }

  /** Every counter the filter defined: full stat name -> value. */
  counters(): Map<string, bigint> {
    const out = new Map<string, bigint>();
    for (const c of this.env.stats.counters()) out.set(c.name, c.value());
    return out;
  }

  async close(): Promise<void> {
    await this.plugin.close();
  }
}
