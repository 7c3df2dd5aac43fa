/**
 * grpc-auth's configuration once parsed (config.ts builds it in onConfigure): rules with their
 * conditions precompiled, the credential stores, and the header names the filter reads.
 * README.md ("Configuration", "Evaluation") documents what each field means.
 */
import { HmacSha256Key, Ed25519PublicKey } from "../../sdk/crypto/index";
import { Cidr } from "./ip";
import { HeaderNames } from "./headers";
import { names } from "./names";

export const ACTION_ALLOW: i32 = 0;
export const ACTION_DENY: i32 = 1;
export const ACTION_AUDIT: i32 = 2;
/** Action names by ACTION_* value (the configuration's `action` values). */
export const ACTION_NAMES: Array<string> = names(memory.data<u8>([ // "ALLOW|DENY|AUDIT"
  0x41, 0x4c, 0x4c, 0x4f, 0x57, 0x7c, 0x44, 0x45, 0x4e, 0x59, 0x7c, 0x41, 0x55, 0x44, 0x49, 0x54,
]), 16);

/** Credential kinds, as bits (a rule's `required` mask, a request's `absent` mask). */
export const KIND_PRINCIPAL: u32 = 1;
export const KIND_JWT: u32 = 2;
export const KIND_API_KEY: u32 = 4;
export const KIND_USER: u32 = 8;

export const AUDIT_NONE: i32 = 0;
export const AUDIT_DENIALS: i32 = 1;
export const AUDIT_ALLOWS: i32 = 2;
export const AUDIT_ALL: i32 = 3;

export const ALG_HS256: i32 = 0;
export const ALG_EDDSA: i32 = 1;
/** JWS `alg` names by ALG_* value. */
export const ALG_NAMES: Array<string> = names(memory.data<u8>([ // "HS256|EdDSA"
  0x48, 0x53, 0x32, 0x35, 0x36, 0x7c, 0x45, 0x64, 0x44, 0x53, 0x41,
]), 11);

/** Pseudo-rule names (decisions no user rule made); user rule names cannot start with "_". */
export const RULE_DEFAULT = "_default";
export const RULE_AUTHN = "_authn";
export const RULE_MALFORMED = "_malformed_path";

/** `spiffe://td/ns/<ns>/sa/<sa>`; a null part is "*". `any`: "*" alone. */
export class PrincipalPattern {
  constructor(public any: bool, public trustDomain: string | null, public namespace: string | null,
              public serviceAccount: string | null) {}
}

export class ClaimCondition {
  constructor(public path: StaticArray<string>, public all: bool, public values: Array<string>) {}
}

export class JwtCondition {
  /** Provider indices; empty = any provider. */
  providers: StaticArray<i32> = new StaticArray<i32>(0);
  claims: Array<ClaimCondition> = [];
}

/** Presence: -1 = compare values/prefixes, 0 = must be absent, 1 = must be present. */
export class HeaderCondition {
  values: Array<ArrayBuffer> = [];
  prefixes: Array<ArrayBuffer> = [];
  presence: i32 = -1;
  constructor(public nameIndex: i32, public name: string) {}
}

export class Rule {
  nameBytes: ArrayBuffer;
  action: i32 = ACTION_ALLOW;
  dryRun: bool = false;
  message: string | null = null;
  principals: Array<PrincipalPattern> | null = null;
  jwt: JwtCondition | null = null;
  /** Key / user indices; empty = any valid one; null = no condition. */
  apiKeys: StaticArray<i32> | null = null;
  users: StaticArray<i32> | null = null;
  sourceIps: Array<Cidr> | null = null;
  headers: Array<HeaderCondition> = [];
  /** Credential kinds the rule requires (KIND_* bits). */
  required: u32 = 0;
  /** Stat ids by (decision * 3 + code slot), resolved on first use. */
  readonly statIds: StaticArray<u32> = new StaticArray<u32>(12);

  constructor(public name: string) {
    this.nameBytes = String.UTF8.encode(name);
  }
}

export class JwtKey {
  hmac: HmacSha256Key | null = null;
  ed25519: Ed25519PublicKey | null = null;
  constructor(public kid: string | null, public alg: i32) {}
}

export class JwtProvider {
  audiences: Array<string> = [];
  clockSkew: f64 = 60;
  requireExp: bool = true;
  spaceDelimited: Array<string> = [];
  keys: Array<JwtKey> = [];
  /** jwt_authn: the key of its payload under filter_metadata["envoy.filters.http.jwt_authn"]; null for inline keys. */
  metadataKey: string | null = null;
  constructor(public name: string, public issuer: string) {}
}

export class ApiKeyStore {
  /** 32 bytes per key. */
  hashes: StaticArray<u8> = new StaticArray<u8>(0);
  names: Array<string> = [];
  /** Open addressing by the first 4 hash bytes -> key index. */
  slots: StaticArray<i32> = new StaticArray<i32>(0);
  /** "apikey:<name>" as UTF-8, per key, made on first use (the principal in filter state). */
  private principals: Array<ArrayBuffer | null> = [];
  /** The last valid key presented (its bytes, at most 1,024) and its index; -1: none yet. */
  readonly lastKey: ArrayBuffer = new ArrayBuffer(1024);
  lastLength: i32 = 0;
  lastIndex: i32 = -1;
  constructor(public headerIndex: i32, public header: string) {}

  principalBytes(key: i32): ArrayBuffer {
    return cachedPrincipal(this.principals, key, "apikey:", this.names);
  }
}

function cachedPrincipal(cache: Array<ArrayBuffer | null>, i: i32, prefix: string, names: Array<string>): ArrayBuffer {
  while (cache.length <= i) cache.push(null);
  let b = cache[i];
  if (b === null) { b = String.UTF8.encode(prefix + names[i]); cache[i] = b; }
  return b;
}

export class UserStore {
  names: Map<string, i32> = new Map<string, i32>();
  list: Array<string> = [];
  salts: Array<ArrayBuffer> = [];
  iterations: Array<i32> = [];
  hashes: Array<ArrayBuffer> = [];
  cacheSize: i32 = 1024;
  /** "user:<name>" as UTF-8, per user, made on first use. */
  private principals: Array<ArrayBuffer | null> = [];
  constructor(public usernameIndex: i32, public passwordIndex: i32, public usernameHeader: string, public passwordHeader: string) {}

  principalBytes(user: i32): ArrayBuffer {
    return cachedPrincipal(this.principals, user, "user:", this.list);
  }
}

export class JwtSettings {
  /** The prefix, lower-cased (compared without regard to ASCII case). */
  prefix: ArrayBuffer = new ArrayBuffer(0);
  forward: bool = false;
  maxTokenBytes: i32 = 8192;
  cacheSize: i32 = 256;
  providers: Array<JwtProvider> = [];
  byIssuer: Map<string, i32> = new Map<string, i32>();
  /** Distinct jwt_authn payload keys (payload_in_metadata) of the providers. */
  metadataKeys: Array<string> = [];
  constructor(public headerIndex: i32, public header: string) {}
}

export class Config {
  policy: string = "";
  genericMessages: bool = false;
  auditLog: i32 = AUDIT_DENIALS;
  stripCredentials: bool = true;
  filterState: bool = true;
  maxMethodSeries: i32 = 1000;
  rules: Array<Rule> = [];
  apiKeys: ApiKeyStore | null = null;
  users: UserStore | null = null;
  jwt: JwtSettings | null = null;
  readonly names: HeaderNames = new HeaderNames();
  pathIndex: i32 = 0;
  /** Some enforced (not dry-run) ALLOW rule exists: default deny for the enforced decision. */
  enforcedAllowExists: bool = false;
  /** Some ALLOW rule exists: default deny for the shadow decision. */
  anyAllowExists: bool = false;
  /** Any rule reads source.address. */
  usesSourceIp: bool = false;
}
