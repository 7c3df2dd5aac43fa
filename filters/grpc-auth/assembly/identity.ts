/**
 * One request's identities (README.md, "Credentials"): each credential kind is absent, valid or
 * invalid. API key, username/password and JWT are checked up front (a presented credential that
 * is invalid denies the request with UNAUTHENTICATED whatever the rules say); the peer principal
 * and the source address are read only when a rule or the principal needs them.
 *
 * JWT: the token is the JWT header's value after its prefix (compared without regard to ASCII
 * case; a value without the prefix is another scheme: no token), trimmed of spaces and tabs. Its
 * issuer picks the provider. Without a token, a jwt_authn provider's verified payload in the
 * dynamic metadata is the JWT identity.
 */
import { JsonObject } from "../../sdk/json";
import { ABSENT, Checked, INVALID, PasswordChecker, VALID, checkApiKey } from "./credentials";
import { RequestHeaders } from "./headers";
import { releaseView, RET0 } from "../../sdk/abi/memory";
import { dynamicMetadata, JWT_AUTHN_FILTER, nowSeconds, propertyView, sourceAddress, URI_SAN } from "./host";
import { parseSourceAddress } from "./ip";
import { spiffeParts } from "./spiffe";
import { inspectToken, JWT_REASONS, R_DUPLICATE, R_MALFORMED, R_NOT_VERIFIED, R_OK, R_OVERSIZED, timeReason, TokenCache, TokenInfo } from "./jwt";
import { readMetadataStruct } from "./metadata";
import { Config, JwtSettings, KIND_API_KEY, KIND_JWT, KIND_PRINCIPAL, KIND_USER } from "./model";
import { Text, text } from "./texts";

/** Lazily read facts are unknown until first asked. */
const UNKNOWN: i32 = -1;

export class Identities {
  readonly apiKey: Checked = new Checked();
  readonly user: Checked = new Checked();
  jwtState: i32 = ABSENT;
  jwtReason: i32 = R_OK;
  jwtProvider: i32 = -1;
  claims: JsonObject | null = null;
  /** The token's info when `claims` are its own (not a jwt_authn payload from the metadata). */
  jwtInfo: TokenInfo | null = null;
  private peerState: i32 = UNKNOWN;
  private peer: string | null = null;
  // The last peer URI SAN read and what is derived from it, kept across requests (the requests of
  // one connection present the same certificate): a repeat costs one byte compare.
  private lastPeerBytes: ArrayBuffer = new ArrayBuffer(0);
  private lastPeer: string = "";
  private lastPeerSpiffe: StaticArray<string> | null = null;
  private lastPeerPrincipal: ArrayBuffer | null = null;
  private sourceState: i32 = UNKNOWN;
  private source: StaticArray<u8> | null = null;

  reset(): void {
    this.apiKey.set(ABSENT, -1);
    this.user.set(ABSENT, -1);
    this.jwtState = ABSENT;
    this.jwtReason = R_OK;
    this.jwtProvider = -1;
    this.claims = null;
    this.jwtInfo = null;
    this.peerState = UNKNOWN;
    this.peer = null;
    this.sourceState = UNKNOWN;
    this.source = null;
  }

  /** The peer certificate's URI SAN, or null (plaintext, or no URI SAN). */
  peerUri(): string | null {
    if (this.peerState == UNKNOWN) {
      const n = propertyView(URI_SAN);
      if (n <= 0) {
        this.peer = null;
      } else {
        const at = <usize>load<u32>(RET0);
        const last = this.lastPeerBytes;
        if (<isize>last.byteLength != n || memory.compare(at, changetype<usize>(last), <usize>n) != 0) {
          const bytes = new ArrayBuffer(<i32>n);
          memory.copy(changetype<usize>(bytes), at, <usize>n);
          this.lastPeerBytes = bytes;
          this.lastPeer = String.UTF8.decodeUnsafe(at, <usize>n);
          this.lastPeerSpiffe = spiffeParts(this.lastPeer);
          this.lastPeerPrincipal = null;
        }
        this.peer = this.lastPeer;
      }
      releaseView();
      this.peerState = this.peer === null ? ABSENT : VALID;
    }
    return this.peer;
  }

  /** [trust domain, namespace, service account] when the peer is a SPIFFE workload ID. */
  spiffe(): StaticArray<string> | null {
    return this.peerUri() !== null ? this.lastPeerSpiffe : null;
  }

  sourceIp(): StaticArray<u8> | null {
    if (this.sourceState == UNKNOWN) {
      const a = sourceAddress();
      this.source = a !== null ? parseSourceAddress(a) : null;
      this.sourceState = this.source === null ? ABSENT : VALID;
    }
    return this.source;
  }

  /** KIND_* bits of the credential kinds this request does not carry. */
  absentKinds(): u32 {
    let m: u32 = 0;
    if (this.apiKey.state != VALID) m |= KIND_API_KEY;
    if (this.user.state != VALID) m |= KIND_USER;
    if (this.jwtState != VALID) m |= KIND_JWT;
    if (this.peerUri() === null) m |= KIND_PRINCIPAL;
    return m;
  }

  /** The first invalid credential, in the order JWT, API key, username/password; "" if none. */
  invalidCredential(): string {
    if (this.jwtState == INVALID) return text(Text.jwtReason) + JWT_REASONS[this.jwtReason];
    if (this.apiKey.state == INVALID) return text(Text.apiKey);
    if (this.user.state == INVALID) return text(Text.usernameOrPassword);
    return "";
  }

  /** The caller as one string: JWT iss/sub, then user:<name>, then apikey:<name>, then the peer URI SAN. */
  principal(config: Config): string | null {
    const claims = this.claims;
    if (this.jwtState == VALID && claims !== null) {
      const iss = claims.get("iss");
      const sub = claims.get("sub");
      let out = "";
      if (iss !== null) { const i = iss.asString(); if (i !== null) out = i; }
      out += "/";
      if (sub !== null) { const s = sub.asString(); if (s !== null) out += s; }
      return out;
    }
    const users = config.users;
    if (this.user.state == VALID && users !== null) return "user:" + users.list[this.user.index];
    const keys = config.apiKeys;
    if (this.apiKey.state == VALID && keys !== null) return "apikey:" + keys.names[this.apiKey.index];
    return this.peerUri();
  }

  /**
   * `principal` as UTF-8, null when it is absent or empty; an API key's or a user's is encoded
   * once per VM, a cached token's once per token.
   */
  principalBytes(config: Config): ArrayBuffer | null {
    if (this.jwtState == VALID && this.claims !== null) {
      const info = this.jwtInfo;
      if (info !== null && info.claims === this.claims) {
        let b = info.principal;
        if (b === null) { b = String.UTF8.encode(this.principal(config)!); info.principal = b; }
        return b;
      }
    } else {
      const users = config.users;
      if (this.user.state == VALID && users !== null) return users.principalBytes(this.user.index);
      const keys = config.apiKeys;
      if (this.apiKey.state == VALID && keys !== null) return keys.principalBytes(this.apiKey.index);
      // The peer URI SAN (what `principal` returns here), encoded once per certificate.
      if (this.peerUri() === null) return null;
      let b = this.lastPeerPrincipal;
      if (b === null) { b = String.UTF8.encode(this.lastPeer); this.lastPeerPrincipal = b; }
      return b;
    }
    const p = this.principal(config);
    return p !== null && p.length > 0 ? String.UTF8.encode(p) : null;
  }
}

function lowerAscii(c: u32): u32 { return c >= 0x41 && c <= 0x5a ? c + 0x20 : c; }

/** Authenticates the JWT: token in the header, or a jwt_authn payload in the metadata. */
function checkJwt(settings: JwtSettings, cache: TokenCache, h: RequestHeaders, id: Identities): void {
  const i = settings.headerIndex;
  const count = h.count(i);
  if (count > 1) { id.jwtState = INVALID; id.jwtReason = R_DUPLICATE; return; }
  if (count == 1) {
    const base = h.ptr(i);
    let start = 0;
    let end = h.length(i);
    const prefix = settings.prefix;
    const plen = prefix.byteLength;
    let hasPrefix = end - start >= plen;
    for (let k = 0; hasPrefix && k < plen; k++) {
      hasPrefix = lowerAscii(<u32>load<u8>(base + <usize>(start + k))) == <u32>load<u8>(changetype<usize>(prefix) + <usize>k);
    }
    if (hasPrefix) {
      start += plen;
      while (start < end && (load<u8>(base + <usize>start) == 0x20 || load<u8>(base + <usize>start) == 0x09)) start++;
      while (end > start && (load<u8>(base + <usize>(end - 1)) == 0x20 || load<u8>(base + <usize>(end - 1)) == 0x09)) end--;
      const len = end - start;
      if (len == 0) { id.jwtState = INVALID; id.jwtReason = R_MALFORMED; return; }
      if (len > settings.maxTokenBytes) { id.jwtState = INVALID; id.jwtReason = R_OVERSIZED; return; }
      const info: TokenInfo = cache.lookup(settings, h.value(i), start, len);
      let reason = info.before;
      if (reason == R_OK && info.viaMetadata) {
        const payload = metadataPayload(settings, settings.providers[info.provider].metadataKey!);
        const iss = payload !== null ? payload.get("iss") : null;
        if (iss === null || iss.asString() != settings.providers[info.provider].issuer) reason = R_NOT_VERIFIED;
        else { id.jwtState = VALID; id.jwtProvider = info.provider; id.claims = payload; return; }
      }
      if (reason == R_OK) reason = timeReason(info, settings.providers[info.provider], nowSeconds());
      if (reason == R_OK) reason = info.after;
      if (reason != R_OK) { id.jwtState = INVALID; id.jwtReason = reason; return; }
      id.jwtState = VALID;
      id.jwtProvider = info.provider;
      id.claims = info.claims;
      id.jwtInfo = info;
      return;
    }
  }
  // No token of ours: a payload jwt_authn verified, from a provider of this policy.
  const keys = settings.metadataKeys;
  if (keys.length == 0) return;
  const metadata = dynamicMetadata();
  const jwtAuthn = metadata !== null ? readMetadataStruct(metadata, JWT_AUTHN_FILTER) : null;
  if (jwtAuthn === null) return;
  for (let k = 0; k < keys.length; k++) {
    const v = jwtAuthn.get(keys[k]);
    const payload = v !== null ? v.asObject() : null;
    if (payload === null) continue;
    const iss = payload.get("iss");
    const issuer = iss !== null ? iss.asString() : null;
    if (issuer === null || !settings.byIssuer.has(issuer)) continue;
    const p = settings.byIssuer.get(issuer);
    if (settings.providers[p].metadataKey != keys[k]) continue;
    id.jwtState = VALID;
    id.jwtProvider = p;
    id.claims = payload;
    return;
  }
}

function metadataPayload(settings: JwtSettings, key: string): JsonObject | null {
  const metadata = dynamicMetadata();
  const jwtAuthn = metadata !== null ? readMetadataStruct(metadata, JWT_AUTHN_FILTER) : null;
  const v = jwtAuthn !== null ? jwtAuthn.get(key) : null;
  return v !== null ? v.asObject() : null;
}

/** Checks every credential the request presents (the eager part of Identities). */
export class Authenticator {
  readonly passwords: PasswordChecker | null;
  readonly tokens: TokenCache | null;

  constructor(private readonly config: Config) {
    const users = config.users;
    this.passwords = users !== null ? new PasswordChecker(users) : null;
    const jwt = config.jwt;
    this.tokens = jwt !== null ? new TokenCache(jwt.cacheSize) : null;
  }

  authenticate(h: RequestHeaders, id: Identities): void {
    id.reset();
    const keys = this.config.apiKeys;
    if (keys !== null) checkApiKey(keys, h, id.apiKey);
    const passwords = this.passwords;
    if (passwords !== null) passwords.check(h, id.user);
    const jwt = this.config.jwt;
    const tokens = this.tokens;
    if (jwt !== null && tokens !== null) checkJwt(jwt, tokens, h, id);
  }
}

export { inspectToken };
