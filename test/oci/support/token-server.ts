/**
 * A token server as a cloud registry runs one (distribution/docs/spec/auth/token.md and jwt.md):
 * `GET /token?service=…&scope=…` with Basic credentials, or the OAuth2 refresh-token grant
 * `POST /token` (oauth.md), answers `{token, access_token, expires_in, issued_at}` with an ES256
 * JWT whose header carries the signing certificate (`x5c`) and whose claims grant the requested
 * `repository:<name>:<actions>` scopes that the user's ACL allows. Tokens can be made to arrive
 * already expired, for the expired-token tests. Test use only; listens on 127.0.0.1.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { randomUUID } from "node:crypto";
import { SignJWT } from "jose";
import { selfSignedCert } from "./self-signed-cert.ts";

export interface TokenServerOptions {
  issuer: string;
  service: string;
  /** user -> password. */
  users: Record<string, string>;
  /** identity (refresh) token -> user. */
  identityTokens?: Record<string, string>;
  /** Actions a user may have on a repository; default pull and push everywhere. */
  acl?: (user: string | null, repository: string) => string[];
  ttlSeconds?: number;
}

export interface TokenServer {
  realm: string;
  certPem: string;
  /** Tokens issued so far. */
  issued: number;
  /** Tokens issued from now on are this many seconds past expiry (0 = fresh). */
  expiredBySeconds: number;
  /** Issue only this many expired tokens, then fresh ones again (undefined = all). */
  expiredCount?: number;
  stop(): Promise<void>;
}

function parseScopes(params: URLSearchParams): Array<{ type: string; name: string; actions: string[] }> {
  const out = [];
  for (const raw of params.getAll("scope").flatMap((s) => s.split(" "))) {
    const m = /^([a-z]+):(.+):([a-z*,]+)$/.exec(raw);
    if (m) out.push({ type: m[1]!, name: m[2]!, actions: m[3]!.split(",") });
  }
  return out;
}

export async function startTokenServer(opts: TokenServerOptions): Promise<TokenServer> {
  const cert = selfSignedCert(opts.issuer);
  const x5c = [cert.der.toString("base64")];
  const state: TokenServer = {
    realm: "",
    certPem: cert.pem,
    issued: 0,
    expiredBySeconds: 0,
    stop: async () => {},
  };
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (url.pathname !== "/token") {
      res.writeHead(404).end();
      return;
    }
    let body = "";
    for await (const chunk of req) body += chunk;
    let user: string | null = null;
    let params = url.searchParams;
    if (req.method === "POST") {
      params = new URLSearchParams(body);
      const refresh = params.get("refresh_token") ?? "";
      user = opts.identityTokens?.[refresh] ?? null;
      if (params.get("grant_type") !== "refresh_token" || user === null) {
        res.writeHead(401, { "content-type": "application/json" }).end(JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "invalid refresh token" }] }));
        return;
      }
    } else {
      const auth = req.headers.authorization;
      if (auth?.startsWith("Basic ")) {
        const decoded = Buffer.from(auth.slice(6), "base64").toString("utf8");
        const colon = decoded.indexOf(":");
        const name = decoded.slice(0, colon);
        if (colon < 0 || opts.users[name] === undefined || opts.users[name] !== decoded.slice(colon + 1)) {
          res.writeHead(401, { "content-type": "application/json" }).end(JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "invalid username or password" }] }));
          return;
        }
        user = name;
      }
    }
    const acl = opts.acl ?? ((u: string | null) => (u ? ["pull", "push"] : []));
    const access = parseScopes(params)
      .filter((s) => s.type === "repository")
      .map((s) => ({ type: s.type, name: s.name, actions: s.actions.filter((a) => acl(user, s.name).includes(a)) }));
    const ttl = opts.ttlSeconds ?? 300;
    const expired = state.expiredBySeconds > 0 && (state.expiredCount === undefined || state.expiredCount > 0);
    if (expired && state.expiredCount !== undefined) state.expiredCount--;
    const now = Math.floor(Date.now() / 1000) - (expired ? state.expiredBySeconds + ttl : 0);
    const token = await new SignJWT({ access })
      .setProtectedHeader({ alg: "ES256", typ: "JWT", x5c })
      .setIssuer(opts.issuer)
      .setSubject(user ?? "")
      .setAudience(params.get("service") ?? opts.service)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + ttl)
      .setJti(randomUUID())
      .sign(cert.privateKey);
    state.issued++;
    res.writeHead(200, { "content-type": "application/json" }).end(
      JSON.stringify({ token, access_token: token, expires_in: ttl, issued_at: new Date(now * 1000).toISOString() }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  state.realm = `http://127.0.0.1:${port}/token`;
  state.stop = () => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
  return state;
}
