/**
 * The pluginConfig's field names (README.md, "The compiled configuration"): one table per JSON
 * object, written as one literal (names.ts: a literal per name would cost the module ~23 bytes
 * each), with a const enum giving each name's index, in the same order. A table is also the
 * object's list of known fields. `test/fields.test.ts` checks that every enum matches its table.
 * (Each table is one literal on one line: AssemblyScript does not fold `"a" + "b"` into one.)
 */
import { names } from "./names";

/** The root object. */
export const TOP = names("version|policy|denial_messages|audit_log|strip_credentials|filter_state|max_method_series|rules|api_keys|passwords|jwt");
export const enum TopField { version, policy, denial_messages, audit_log, strip_credentials, filter_state, max_method_series,
  rules, api_keys, passwords, jwt }

/** rules[i]. */
export const RULE = names("name|action|dry_run|methods|message|principals|jwt|api_keys|users|source_ips|headers");
export const enum RuleField { name, action, dry_run, methods, message, principals, jwt, api_keys, users, source_ips, headers }

/** rules[i].jwt. */
export const RULE_JWT = names("providers|claims");
export const enum RuleJwtField { providers, claims }

/** rules[i].jwt.claims[j]. */
export const CLAIM = names("path|any_of|all_of");
export const enum ClaimField { path, any_of, all_of }

/** rules[i].headers[j]. */
export const HEADER = names("name|values|prefixes|present");
export const enum HeaderField { name, values, prefixes, present }

/** api_keys. */
export const API_KEYS = names("header|keys");
export const enum ApiKeysField { header, keys }

/** api_keys.keys[i]. */
export const API_KEY = names("name|sha256");
export const enum ApiKeyField { name, sha256 }

/** passwords. */
export const PASSWORDS = names("username_header|password_header|cache_size|users");
export const enum PasswordsField { username_header, password_header, cache_size, users }

/** passwords.users[i]. */
export const USER = names("name|iterations|salt|hash");
export const enum UserField { name, iterations, salt, hash }

/** jwt. */
export const JWT = names("header|prefix|forward|max_token_bytes|cache_size|providers");
export const enum JwtField { header, prefix, forward, max_token_bytes, cache_size, providers }

/** jwt.providers[i]. */
export const PROVIDER = names("name|issuer|audiences|clock_skew_seconds|require_exp|space_delimited_claims|keys|jwt_authn");
export const enum ProviderField { name, issuer, audiences, clock_skew_seconds, require_exp, space_delimited_claims, keys, jwt_authn }

/** jwt.providers[i].keys[j]. */
export const KEY = names("alg|kid|k|x");
export const enum KeyField { alg, kid, k, x }

/** jwt.providers[i].jwt_authn. */
export const JWT_AUTHN = names("payload_in_metadata");
export const enum JwtAuthnField { payload_in_metadata }

/** Values of denial_messages and audit_log, by index. */
export const DENIAL_MESSAGES = names("rule|generic");
export const AUDIT_LOGS = names("none|denials|allows|all");
