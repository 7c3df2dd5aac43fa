/**
 * The credential sections of the pluginConfig (`api_keys`, `passwords`, `jwt`), read with the
 * SDK's ConfigReader (errors name their field) and turned into ready-to-use stores: API-key hashes
 * in a table by their first bytes, users by name, HMAC keys prepared and Ed25519 keys decoded
 * (with their tables) once, here, rather than per request.
 */
import { ConfigArray, ConfigObject, pathWithIndex } from "../../sdk/json";
import { base64UrlDecode, Ed25519PublicKey, HmacSha256Key } from "../../sdk/crypto/index";
import { ALG_EDDSA, ALG_HS256, ALG_NAMES, ApiKeyStore, Config, JwtKey, JwtProvider, JwtSettings, UserStore } from "./model";
import {
  API_KEY, API_KEYS, ApiKeyField, ApiKeysField, JWT, JWT_AUTHN, JwtAuthnField, JwtField, KEY, KeyField, PASSWORDS,
  PasswordsField, PROVIDER, ProviderField, USER, UserField,
} from "./fields";
import { Text, text } from "./texts";

const NAME_LIMIT = 63;

function hexNibble(c: i32): i32 {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/**
 * An integer field in [min, max]; `fallback` when absent (or null) unless required. Read here
 * rather than with ConfigReader.integer, whose messages print floats (the float formatter would
 * add kilobytes to the module for an error message).
 */
export function intField(o: ConfigObject, key: string, fallback: i32, min: i32, max: i32, required: bool = false): i32 {
  const v = o.get(key);
  if (v === null || v.isNull()) {
    if (required) o.fail(key, text(Text.missing));
    return fallback;
  }
  const n = v.integerValue();
  if (!v.isInteger() || n < <i64>min || n > <i64>max) {
    o.fail(key, text(Text.invalidValue));
    return fallback;
  }
  return <i32>n;
}

/** Records "<path>.<key>[i]: <message>". */
export function failAt(o: ConfigObject, key: string, i: i32, message: string): void {
  o.reader.fail(pathWithIndex(o.fieldPath(key), i), message);
}

/** Unpadded base64url text as bytes (strict, canonical), or null. */
export function base64Url(text: string): ArrayBuffer | null {
  const b = String.UTF8.encode(text);
  return base64UrlDecode(b, 0, b.byteLength);
}

/** A header name from the config: lower-case, non-empty. */
export function readHeader(o: ConfigObject, key: string, fallback: string): string {
  const v = o.optionalString(key, fallback);
  if (v.length == 0) { o.fail(key, text(Text.invalidValue)); return fallback; }
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if ((c >= 0x41 && c <= 0x5a) || c <= 0x20 || c >= 0x7f) { o.fail(key, text(Text.invalidValue)); return fallback; }
  }
  return v;
}

/** The `name` field (the first field of every table that has one). */
function readName(o: ConfigObject, key: string): string {
  const name = o.requiredString(key);
  if (name.length == 0 || name.length > NAME_LIMIT) o.fail(key, text(Text.invalidValue));
  return name;
}

export function readApiKeys(o: ConfigObject, config: Config): void {
  o.unknownFields(API_KEYS);
  const header = readHeader(o, API_KEYS[ApiKeysField.header], text(Text.apiKeyHeader));
  const store = new ApiKeyStore(config.names.add(header), header);
  const keys = o.requiredArray(API_KEYS[ApiKeysField.keys]);
  const n = keys === null ? 0 : keys.length;
  const hashes = new StaticArray<u8>(n * 32);
  for (let i = 0; keys !== null && i < n; i++) {
    const k = keys.object(i);
    if (k === null) continue;
    k.unknownFields(API_KEY);
    store.names.push(readName(k, API_KEY[ApiKeyField.name]));
    const hex = k.requiredString(API_KEY[ApiKeyField.sha256]);
    if (hex.length != 64) { k.fail(API_KEY[ApiKeyField.sha256], text(Text.invalidValue)); continue; }
    for (let j = 0; j < 32; j++) {
      const hi = hexNibble(hex.charCodeAt(j * 2));
      const lo = hexNibble(hex.charCodeAt(j * 2 + 1));
      if (hi < 0 || lo < 0) { k.fail(API_KEY[ApiKeyField.sha256], text(Text.invalidValue)); break; }
      unchecked(hashes[i * 32 + j] = <u8>((hi << 4) | lo));
    }
  }
  store.hashes = hashes;
  let size = 16;
  while (size < n * 2) size <<= 1;
  const slots = new StaticArray<i32>(size);
  for (let i = 0; i < size; i++) unchecked(slots[i] = -1);
  const mask = size - 1;
  for (let i = 0; i < n; i++) {
    let s = <i32>(load<u32>(changetype<usize>(hashes) + <usize>(i * 32)) & <u32>mask);
    while (unchecked(slots[s]) >= 0) s = (s + 1) & mask;
    unchecked(slots[s] = i);
  }
  store.slots = slots;
  config.apiKeys = store;
}

export function readPasswords(o: ConfigObject, config: Config): void {
  o.unknownFields(PASSWORDS);
  const uh = readHeader(o, PASSWORDS[PasswordsField.username_header], text(Text.usernameHeader));
  const ph = readHeader(o, PASSWORDS[PasswordsField.password_header], text(Text.passwordHeader));
  const store = new UserStore(config.names.add(uh), config.names.add(ph), uh, ph);
  store.cacheSize = intField(o, PASSWORDS[PasswordsField.cache_size], 1024, 0, 65536);
  const users = o.requiredArray(PASSWORDS[PasswordsField.users]);
  for (let i = 0; users !== null && i < users.length; i++) {
    const u = users.object(i);
    if (u === null) continue;
    u.unknownFields(USER);
    const name = readName(u, USER[UserField.name]);
    if (store.names.has(name)) u.fail(USER[UserField.name], text(Text.duplicate));
    store.names.set(name, store.list.length);
    store.list.push(name);
    store.iterations.push(intField(u, USER[UserField.iterations], 1, 1, 10_000_000, true));
    const salt = base64Url(u.requiredString(USER[UserField.salt]));
    if (salt === null || salt.byteLength == 0) u.fail(USER[UserField.salt], text(Text.invalidValue));
    store.salts.push(salt === null ? new ArrayBuffer(0) : salt);
    const hash = base64Url(u.requiredString(USER[UserField.hash]));
    if (hash === null || hash.byteLength != 32) u.fail(USER[UserField.hash], text(Text.invalidValue));
    store.hashes.push(hash === null ? new ArrayBuffer(0) : hash);
  }
  config.users = store;
}

function readKey(keys: ConfigArray, i: i32, provider: JwtProvider): void {
  const k = keys.object(i);
  if (k === null) return;
  k.unknownFields(KEY);
  const alg = k.requiredEnum(KEY[KeyField.alg], ALG_NAMES);
  const kid = k.has(KEY[KeyField.kid]) ? k.requiredString(KEY[KeyField.kid]) : null;
  const key = new JwtKey(kid, alg);
  if (alg == ALG_HS256) {
    const secret = base64Url(k.requiredString(KEY[KeyField.k]));
    if (secret === null || secret.byteLength < 32) { k.fail(KEY[KeyField.k], text(Text.invalidValue)); return; }
    key.hmac = HmacSha256Key.from(secret);
  } else if (alg == ALG_EDDSA) {
    const x = base64Url(k.requiredString(KEY[KeyField.x]));
    const pk = x !== null ? Ed25519PublicKey.parse(x, 0, x.byteLength) : null;
    if (pk === null || !pk.canonical) { k.fail(KEY[KeyField.x], text(Text.invalidValue)); return; }
    key.ed25519 = pk;
  } else {
    return;
  }
  provider.keys.push(key);
}

export function readJwt(o: ConfigObject, config: Config): void {
  o.unknownFields(JWT);
  const header = readHeader(o, JWT[JwtField.header], text(Text.jwtHeader));
  const jwt = new JwtSettings(config.names.add(header), header);
  const prefix = String.UTF8.encode(o.optionalString(JWT[JwtField.prefix], text(Text.jwtPrefix)));
  const pp = changetype<usize>(prefix);
  for (let i = 0; i < prefix.byteLength; i++) {
    const c = load<u8>(pp + <usize>i);
    if (c >= 0x41 && c <= 0x5a) store<u8>(pp + <usize>i, c + 0x20);
  }
  jwt.prefix = prefix;
  jwt.forward = o.optionalBool(JWT[JwtField.forward], false);
  jwt.maxTokenBytes = intField(o, JWT[JwtField.max_token_bytes], 8192, 64, 65536);
  jwt.cacheSize = intField(o, JWT[JwtField.cache_size], 256, 0, 65536);
  const providers = o.requiredArray(JWT[JwtField.providers]);
  for (let i = 0; providers !== null && i < providers.length; i++) {
    const p = providers.object(i);
    if (p === null) continue;
    p.unknownFields(PROVIDER);
    const provider = new JwtProvider(readName(p, PROVIDER[ProviderField.name]), p.requiredString(PROVIDER[ProviderField.issuer]));
    if (jwt.byIssuer.has(provider.issuer)) p.fail(PROVIDER[ProviderField.issuer], text(Text.duplicate));
    jwt.byIssuer.set(provider.issuer, jwt.providers.length);
    provider.audiences = p.optionalStringArray(PROVIDER[ProviderField.audiences]);
    provider.clockSkew = <f64>intField(p, PROVIDER[ProviderField.clock_skew_seconds], 60, 0, 3600);
    provider.requireExp = p.optionalBool(PROVIDER[ProviderField.require_exp], true);
    provider.spaceDelimited = p.optionalStringArray(PROVIDER[ProviderField.space_delimited_claims]);
    const authn = p.optionalObject(PROVIDER[ProviderField.jwt_authn]);
    const keysKey = PROVIDER[ProviderField.keys];
    if (authn !== null) {
      authn.unknownFields(JWT_AUTHN);
      const key = authn.optionalString(JWT_AUTHN[JwtAuthnField.payload_in_metadata], text(Text.jwtAuthnPayload));
      provider.metadataKey = key;
      if (!jwt.metadataKeys.includes(key)) jwt.metadataKeys.push(key);
      if (p.has(keysKey)) p.fail(keysKey, text(Text.invalidValue));
    } else {
      const keys = p.requiredArray(keysKey);
      for (let k = 0; keys !== null && k < keys.length; k++) readKey(keys, k, provider);
      if (keys !== null && keys.length == 0) p.fail(keysKey, text(Text.mustNotBeEmpty));
    }
    jwt.providers.push(provider);
  }
  config.jwt = jwt;
}
