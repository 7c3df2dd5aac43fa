/**
 * One registry's HTTP transport with the Distribution auth flows (distribution/docs/spec/auth):
 *
 * 1. A ping `GET /v2/` picks the scheme (HTTPS; then plain HTTP where `registrySchemes` allows
 *    it, or — istio-agent's fallback — when an HTTPS attempt was answered in plain HTTP) and
 *    learns the challenge from `WWW-Authenticate`.
 * 2. `Basic` challenge: every request carries the user's Basic credentials.
 *    `Bearer realm,service,scope` challenge: a token is fetched from the realm for the scopes a
 *    request needs (`repository:<name>:pull[,push]`), with the user's Basic credentials (GET,
 *    docker's flow) or, for an identity token, the OAuth2 refresh-token grant (POST); a registry
 *    token is sent as is. Tokens are cached per scope set until `expires_in` runs out.
 * 3. A 401 on a request refreshes the token once (expired or under-scoped token, or a registry
 *    that lets `/v2/` through anonymously) and retries; a second 401 is an authentication error.
 *
 * Errors are RegistryError (a UserError) with one-line messages naming the registry, the HTTP
 * status and the registry's own error code; credentials never appear in them.
 */
import { UserError } from "../../errors.ts";
import { parseChallenges, type AuthChallenge } from "../auth/challenge.ts";
import { describeCredentials, type CredentialResolver, type RegistryCredentials } from "../auth/credentials.ts";
import { isPrivateHost, registrySchemes } from "../reference.ts";

export interface TransportOptions {
  /** Allow plain HTTP to any registry (otherwise only to localhost, loopback and RFC 1918). */
  insecure?: boolean;
  /** Retry over plain HTTP when an HTTPS attempt is answered in plain HTTP (istio-agent does). */
  httpFallback?: boolean;
  /** fetch to use; default the global one. */
  fetchImpl?: typeof fetch;
  /** Per-request timeout in milliseconds. Default 60 s. */
  timeoutMs?: number;
  userAgent?: string;
}

export class RegistryError extends UserError {
  constructor(
    message: string,
    readonly status?: number,
    readonly code?: string,
  ) {
    super(message);
  }
}

export interface TransportRequest {
  method: string;
  /** Path starting with `/v2/`, or an absolute URL (upload locations). */
  path: string;
  headers?: Record<string, string>;
  body?: Uint8Array;
  /** Token scopes this request needs. */
  scopes: string[];
}

interface CachedToken {
  value: string;
  expiresAt: number;
}

const TLS_PLAINTEXT_CODES = new Set(["ERR_SSL_WRONG_VERSION_NUMBER", "ERR_SSL_PACKET_LENGTH_TOO_LONG", "EPROTO", "ERR_SSL_HTTP_REQUEST"]);
const ERROR_BODY_LIMIT = 64 * 1024;

function causeOf(e: unknown): { code?: string; message: string } {
  let err = e as { cause?: unknown; code?: string; message?: string };
  while (err && err.cause && typeof err.cause === "object") err = err.cause as typeof err;
  return { code: err?.code, message: err?.message ?? String(e) };
}

/** Reads at most `limit` bytes of a body as text (for error messages). */
export async function readErrorText(res: Response): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    while (total < ERROR_BODY_LIMIT) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      total += value.byteLength;
    }
  } catch {
    /* a truncated error body still says something */
  } finally {
    reader.cancel().catch(() => {});
  }
  return Buffer.concat(chunks).toString("utf8").slice(0, ERROR_BODY_LIMIT);
}

/** `CODE: message` from a Distribution error body, else the status text. */
export async function registryErrorDetail(res: Response): Promise<{ code?: string; text: string }> {
  const body = await readErrorText(res);
  try {
    const parsed = JSON.parse(body) as { errors?: Array<{ code?: unknown; message?: unknown }> };
    const first = parsed.errors?.[0];
    if (first && typeof first.code === "string") {
      const all = parsed.errors!.map((e) => `${String(e.code)}: ${String(e.message ?? "")}`.replace(/: $/, "")).join("; ");
      return { code: first.code, text: all };
    }
  } catch {
    /* not JSON */
  }
  const line = body.trim().split("\n")[0]?.slice(0, 200) ?? "";
  return { text: line || res.statusText || "no detail" };
}

export class RegistryTransport {
  private base: string | undefined;
  private challenge: AuthChallenge | null | undefined;
  private credsLoaded = false;
  private creds: RegistryCredentials | undefined;
  private readonly tokens = new Map<string, CachedToken>();
  private readonly fetchImpl: typeof fetch;
  /** Notes for the user (e.g. a token realm istio-agent ≥ 1.30 would refuse). */
  readonly warnings: string[] = [];
  /** Counters for tests and benchmarks. */
  readonly stats = { requests: 0, tokenFetches: 0 };

  constructor(
    readonly registry: string,
    private readonly resolver: CredentialResolver,
    private readonly opts: TransportOptions = {},
  ) {
    this.fetchImpl = opts.fetchImpl ?? fetch;
  }

  private async send(url: string, init: RequestInit): Promise<Response> {
    this.stats.requests++;
    const headers = new Headers(init.headers);
    headers.set("user-agent", this.opts.userAgent ?? "meshwasm");
    return this.fetchImpl(url, { ...init, headers, signal: AbortSignal.timeout(this.opts.timeoutMs ?? 60_000) });
  }

  private unreachable(scheme: string, e: unknown): RegistryError {
    const c = causeOf(e);
    const why = c.code === "ABORT_ERR" || c.code === "UND_ERR_CONNECT_TIMEOUT" || /timeout|aborted/i.test(c.message)
      ? `no answer within ${(this.opts.timeoutMs ?? 60_000) / 1000} s`
      : c.message;
    return new RegistryError(`cannot reach registry ${this.registry} over ${scheme}: ${why}`);
  }

  /** Picks the scheme and learns the auth challenge (once). */
  async baseUrl(): Promise<string> {
    if (this.base) return this.base;
    const schemes: string[] = registrySchemes(this.registry, this.opts.insecure === true);
    let lastError: RegistryError | undefined;
    let plaintext = false;
    for (let i = 0; i < schemes.length; i++) {
      const scheme = schemes[i]!;
      const base = `${scheme}://${this.registry}`;
      let res: Response;
      try {
        res = await this.send(`${base}/v2/`, { method: "GET" });
      } catch (e) {
        const c = causeOf(e);
        lastError = this.unreachable(scheme, e);
        if (scheme === "https" && (TLS_PLAINTEXT_CODES.has(c.code ?? "") || /wrong version number|packet length too long|http request/i.test(c.message))) {
          plaintext = true;
          if (this.opts.httpFallback && !schemes.includes("http")) schemes.push("http");
        }
        continue;
      }
      await res.arrayBuffer().catch(() => undefined);
      if (res.status === 401) this.challenge = pickChallenge(parseChallenges(res.headers.get("www-authenticate")));
      else if (res.ok) this.challenge = null;
      else throw new RegistryError(`registry ${this.registry} answered GET /v2/ with ${res.status}: not a Distribution (OCI) registry API`, res.status);
      this.base = base;
      return base;
    }
    const hint = plaintext && !schemes.includes("http") ? " (the server speaks plain HTTP: allow it with --insecure)" : "";
    throw new RegistryError(`${lastError?.message ?? `cannot reach registry ${this.registry}`}${hint}`);
  }

  private async credentials(): Promise<RegistryCredentials | undefined> {
    if (!this.credsLoaded) {
      this.creds = await this.resolver(this.registry);
      this.credsLoaded = true;
    }
    return this.creds;
  }

  private async authorization(scopes: string[], forceRefresh: boolean): Promise<string | undefined> {
    const ch = this.challenge;
    if (!ch) return undefined;
    const creds = await this.credentials();
    if (ch.scheme === "basic") {
      if (!creds?.username && !creds?.password) return undefined;
      return `Basic ${Buffer.from(`${creds.username ?? ""}:${creds.password ?? ""}`).toString("base64")}`;
    }
    if (creds?.registryToken) return `Bearer ${creds.registryToken}`;
    const key = [...scopes].sort().join(" ");
    const cached = this.tokens.get(key);
    if (cached && !forceRefresh && cached.expiresAt > Date.now()) return `Bearer ${cached.value}`;
    const token = await this.fetchToken(ch, scopes, creds);
    this.tokens.set(key, token);
    return `Bearer ${token.value}`;
  }

  private async fetchToken(ch: AuthChallenge, scopes: string[], creds: RegistryCredentials | undefined): Promise<CachedToken> {
    const realm = ch.params.realm;
    if (!realm) throw new RegistryError(`registry ${this.registry} asked for a bearer token without a realm`);
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new RegistryError(`registry ${this.registry} advertised a token realm that is not a URL: "${realm}"`);
    }
    if (isPrivateHost(url.hostname)) {
      const note = `token realm ${url.origin} is a loopback or private address: istio-agent >= 1.30 refuses such realms (use a DNS name)`;
      if (!this.warnings.includes(note)) this.warnings.push(note);
    }
    this.stats.tokenFetches++;
    let res: Response;
    try {
      if (creds?.identityToken) {
        const form = new URLSearchParams({ grant_type: "refresh_token", refresh_token: creds.identityToken, client_id: "meshwasm" });
        if (ch.params.service) form.set("service", ch.params.service);
        form.set("scope", scopes.join(" "));
        res = await this.send(url.href, { method: "POST", body: form, headers: { "content-type": "application/x-www-form-urlencoded" } });
      } else {
        if (ch.params.service) url.searchParams.set("service", ch.params.service);
        for (const s of scopes) url.searchParams.append("scope", s);
        const headers: Record<string, string> = {};
        if (creds?.username || creds?.password) {
          if (creds.username) url.searchParams.set("account", creds.username);
          headers.authorization = `Basic ${Buffer.from(`${creds.username ?? ""}:${creds.password ?? ""}`).toString("base64")}`;
        }
        res = await this.send(url.href, { method: "GET", headers });
      }
    } catch (e) {
      throw new RegistryError(`cannot reach the token server ${url.origin} of ${this.registry}: ${causeOf(e).message}`);
    }
    if (res.status === 401 || res.status === 403) {
      const detail = await registryErrorDetail(res);
      throw new RegistryError(
        `authentication failed: the token server ${url.origin} of ${this.registry} rejected ${describeCredentials(creds)} (${res.status}: ${detail.text})`,
        res.status,
        detail.code,
      );
    }
    if (!res.ok) {
      const detail = await registryErrorDetail(res);
      throw new RegistryError(`the token server ${url.origin} of ${this.registry} answered ${res.status}: ${detail.text}`, res.status);
    }
    let body: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      body = (await res.json()) as typeof body;
    } catch {
      throw new RegistryError(`the token server ${url.origin} of ${this.registry} answered with something that is not JSON`);
    }
    const value = typeof body.token === "string" && body.token ? body.token : body.access_token;
    if (typeof value !== "string" || value === "") throw new RegistryError(`the token server ${url.origin} of ${this.registry} returned no token`);
    const ttl = typeof body.expires_in === "number" && body.expires_in > 0 ? body.expires_in : 60;
    // Refresh a little early so a token does not expire between fetch and use.
    return { value, expiresAt: Date.now() + Math.max(0, ttl - 5) * 1000 };
  }

  /**
   * Sends a request with authentication, handling one 401 by refreshing. The caller checks the
   * status of what comes back (a second 401 is turned into an error here).
   */
  async request(req: TransportRequest): Promise<Response> {
    const base = await this.baseUrl();
    const url = req.path.startsWith("/") ? `${base}${req.path}` : req.path;
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = { ...req.headers };
      const auth = await this.authorization(req.scopes, attempt > 0);
      if (auth) headers.authorization = auth;
      let res: Response;
      try {
        res = await this.send(url, { method: req.method, headers, body: req.body as unknown as BodyInit | undefined, redirect: "follow" });
      } catch (e) {
        throw this.unreachable(base.startsWith("https") ? "https" : "http", e);
      }
      if (res.status !== 401) return res;
      const challenge = pickChallenge(parseChallenges(res.headers.get("www-authenticate")));
      const detail = await registryErrorDetail(res);
      const creds = await this.credentials();
      const hadCredentials = !!(creds?.username || creds?.password || creds?.identityToken || creds?.registryToken);
      if (attempt === 0 && challenge && (this.challenge === null || challenge.scheme === "bearer")) {
        this.challenge = challenge;
        if (challenge.scheme === "bearer" || hadCredentials) continue;
      }
      const why = challenge?.params.error ? ` (${challenge.params.error})` : "";
      const message = hadCredentials
        ? `authentication failed: registry ${this.registry} rejected ${describeCredentials(creds)}${why}: 401 ${detail.text}`
        : `authentication required by registry ${this.registry} and no credentials were found for it (docker config.json, a credential helper, or --username/--password-stdin): 401 ${detail.text}`;
      throw new RegistryError(message, 401, detail.code);
    }
  }
}

function pickChallenge(list: AuthChallenge[]): AuthChallenge | null {
  return list.find((c) => c.scheme === "bearer") ?? list.find((c) => c.scheme === "basic") ?? null;
}

/** The token scope for a repository and actions. */
export function repositoryScope(repository: string, actions: "pull" | "pull,push" | "push,pull"): string {
  return `repository:${repository}:${actions}`;
}
