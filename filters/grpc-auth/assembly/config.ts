/**
 * grpc-auth configuration: the pluginConfig JSON that `meshwasm policy` compiles (README.md,
 * "Configuration"), read once in onConfigure with the SDK's ConfigReader so every error names its
 * field (`rules[3].source_ips[0]: expected an IPv4 or IPv6 CIDR`). Any error rejects the whole
 * configuration: onConfigure returns false and the host refuses the plugin (with FAIL_CLOSE,
 * traffic is then denied rather than let through unchecked).
 *
 * Rules reference credentials by name; names are resolved to indices here, and every header a
 * condition reads is registered in the HeaderNames table the request scan uses.
 */
import { ConfigObject, ConfigReader } from "../../sdk/json";
import { parseCidr, Cidr } from "./ip";
import { failAt, intField, readApiKeys, readHeader, readJwt, readPasswords } from "./config-credentials";
import { Text, text } from "./texts";
import {
  ACTION_ALLOW, ACTION_AUDIT, ACTION_NAMES, ClaimCondition, Config, HeaderCondition, JwtCondition, KIND_API_KEY, KIND_JWT,
  KIND_PRINCIPAL, KIND_USER, PrincipalPattern, Rule,
} from "./model";
import { MethodPattern, parseMethodPattern } from "./methods";
import { spiffeParts } from "./spiffe";
import {
  AUDIT_LOGS, CLAIM, ClaimField, DENIAL_MESSAGES, HEADER, HeaderField, RULE, RULE_JWT, RuleField, RuleJwtField, TOP, TopField,
} from "./fields";


let lastError = "";
/** Why the last parseConfig returned null: the first error, and how many more. */
export function configError(): string { return lastError; }

/** The parsed configuration and each rule's method patterns (for the method index). */
export class ParsedConfig {
  constructor(public config: Config, public methods: Array<Array<MethodPattern>>) {}
}

export function parseConfig(bytes: ArrayBuffer): ParsedConfig | null {
  const reader = new ConfigReader();
  const root = reader.readBytes(bytes);
  const config = new Config();
  const methods = new Array<Array<MethodPattern>>();
  if (root !== null) readRoot(root, config, methods);
  if (!reader.ok()) { lastError = reader.summary(); return null; }
  lastError = "";
  return new ParsedConfig(config, methods);
}

function readRoot(root: ConfigObject, config: Config, methods: Array<Array<MethodPattern>>): void {
  root.unknownFields(TOP);
  if (intField(root, TOP[TopField.version], 0, 1, 1, true) != 1) return;
  config.policy = root.optionalString(TOP[TopField.policy], "");
  config.genericMessages = root.optionalEnum(TOP[TopField.denial_messages], DENIAL_MESSAGES, 0) == 1;
  config.auditLog = root.optionalEnum(TOP[TopField.audit_log], AUDIT_LOGS, 1);
  config.stripCredentials = root.optionalBool(TOP[TopField.strip_credentials], true);
  config.filterState = root.optionalBool(TOP[TopField.filter_state], true);
  config.maxMethodSeries = intField(root, TOP[TopField.max_method_series], 1000, 1, 100000);
  config.pathIndex = config.names.add(text(Text.pathHeader));
  const keys = root.optionalObject(TOP[TopField.api_keys]);
  if (keys !== null) readApiKeys(keys, config);
  const users = root.optionalObject(TOP[TopField.passwords]);
  if (users !== null) readPasswords(users, config);
  const jwt = root.optionalObject(TOP[TopField.jwt]);
  if (jwt !== null) readJwt(jwt, config);
  const rules = root.requiredArray(TOP[TopField.rules]);
  if (rules !== null && rules.length == 0) root.fail(TOP[TopField.rules], text(Text.mustNotBeEmpty));
  const names = new Map<string, i32>();
  for (let i = 0; rules !== null && i < rules.length; i++) {
    const o = rules.object(i);
    if (o === null) continue;
    const rule = readRule(o, config);
    if (names.has(rule.name)) o.fail(RULE[RuleField.name], text(Text.duplicate));
    names.set(rule.name, i);
    config.rules.push(rule);
    methods.push(readMethods(o));
    if (rule.action == ACTION_ALLOW) {
      config.anyAllowExists = true;
      if (!rule.dryRun) config.enforcedAllowExists = true;
    }
    if (rule.sourceIps !== null) config.usesSourceIp = true;
  }
}

function readMethods(o: ConfigObject): Array<MethodPattern> {
  const out = new Array<MethodPattern>();
  const list = o.requiredArray(RULE[RuleField.methods]);
  for (let i = 0; list !== null && i < list.length; i++) {
    if (!list.value(i).isString()) { list.string(i); continue; }
    const p = parseMethodPattern(list.string(i));
    if (p === null) list.fail(i, text(Text.invalidValue));
    else out.push(p);
  }
  if (list !== null && list.length == 0) o.fail(RULE[RuleField.methods], text(Text.mustNotBeEmpty));
  return out;
}

/** Indices of the names in `list` within `known`; "*" alone -> empty (any). */
function indices(o: ConfigObject, key: string, known: Array<string> | null): StaticArray<i32> | null {
  if (!o.has(key)) return null;
  const names = o.requiredStringArray(key);
  if (names === null) return null;
  if (names.length == 1 && names[0] == "*") return new StaticArray<i32>(0);
  if (known === null || names.length == 0) { o.fail(key, text(Text.unknownName)); return null; }
  const out = new StaticArray<i32>(names.length);
  for (let i = 0; i < names.length; i++) {
    const at = known.indexOf(names[i]);
    if (at < 0) failAt(o, key, i, text(Text.unknownName));
    unchecked(out[i] = at);
  }
  return out;
}

function parsePrincipal(text: string): PrincipalPattern | null {
  if (text == "*") return new PrincipalPattern(true, null, null, null);
  const parts = spiffeParts(text);
  if (parts === null) return null;
  const star = (s: string): string | null => (s != "*" ? s : null);
  return new PrincipalPattern(false, star(parts[0]), star(parts[1]), star(parts[2]));
}

function readJwtCondition(o: ConfigObject, config: Config): JwtCondition | null {
  const j = o.optionalObject(RULE[RuleField.jwt]);
  if (j === null) return null;
  j.unknownFields(RULE_JWT);
  const cond = new JwtCondition();
  const settings = config.jwt;
  if (settings === null) { o.fail(RULE[RuleField.jwt], text(Text.unknownName)); return cond; }
  const names = new Array<string>();
  for (let i = 0; i < settings.providers.length; i++) names.push(settings.providers[i].name);
  const providers = j.optionalStringArray(RULE_JWT[RuleJwtField.providers]);
  const out = new StaticArray<i32>(providers.length);
  for (let i = 0; i < providers.length; i++) {
    const at = names.indexOf(providers[i]);
    if (at < 0) failAt(j, RULE_JWT[RuleJwtField.providers], i, text(Text.unknownName));
    unchecked(out[i] = at);
  }
  cond.providers = out;
  const claims = j.optionalArray(RULE_JWT[RuleJwtField.claims]);
  for (let i = 0; claims !== null && i < claims.length; i++) {
    const c = claims.object(i);
    if (c === null) continue;
    c.unknownFields(CLAIM);
    const path = c.requiredStringArray(CLAIM[ClaimField.path]);
    const all = c.has(CLAIM[ClaimField.all_of]);
    if (all == c.has(CLAIM[ClaimField.any_of])) { c.fail(CLAIM[ClaimField.any_of], text(Text.invalidValue)); continue; }
    const values = c.requiredStringArray(CLAIM[all ? ClaimField.all_of : ClaimField.any_of]);
    if (path === null || values === null || path.length == 0 || values.length == 0) { c.fail(CLAIM[ClaimField.path], text(Text.invalidValue)); continue; }
    const p = new StaticArray<string>(path.length);
    for (let k = 0; k < path.length; k++) unchecked(p[k] = path[k]);
    cond.claims.push(new ClaimCondition(p, all, values));
  }
  return cond;
}

function readHeaders(o: ConfigObject, config: Config, rule: Rule): void {
  const list = o.optionalArray(RULE[RuleField.headers]);
  for (let i = 0; list !== null && i < list.length; i++) {
    const h = list.object(i);
    if (h === null) continue;
    h.unknownFields(HEADER);
    const name = readHeader(h, HEADER[HeaderField.name], "x");
    const cond = new HeaderCondition(config.names.add(name), name);
    if (h.has(HEADER[HeaderField.present])) cond.presence = h.requiredBool(HEADER[HeaderField.present]) ? 1 : 0;
    const values = h.optionalStringArray(HEADER[HeaderField.values]);
    for (let k = 0; k < values.length; k++) cond.values.push(String.UTF8.encode(values[k]));
    const prefixes = h.optionalStringArray(HEADER[HeaderField.prefixes]);
    for (let k = 0; k < prefixes.length; k++) cond.prefixes.push(String.UTF8.encode(prefixes[k]));
    const compares = cond.values.length + cond.prefixes.length > 0;
    if ((cond.presence >= 0) == compares) h.fail(HEADER[HeaderField.name], text(Text.invalidValue));
    rule.headers.push(cond);
  }
}

function readRule(o: ConfigObject, config: Config): Rule {
  o.unknownFields(RULE);
  const rule = new Rule(o.requiredString(RULE[RuleField.name]));
  if (rule.name.length == 0 || rule.name.charCodeAt(0) == 0x5f) o.fail(RULE[RuleField.name], text(Text.invalidValue));
  rule.action = o.requiredEnum(RULE[RuleField.action], ACTION_NAMES);
  rule.dryRun = o.optionalBool(RULE[RuleField.dry_run], false);
  if (o.has(RULE[RuleField.message])) rule.message = o.requiredString(RULE[RuleField.message]);
  if (o.has(RULE[RuleField.principals])) {
    const list = o.requiredStringArray(RULE[RuleField.principals]);
    const out = new Array<PrincipalPattern>();
    for (let i = 0; list !== null && i < list.length; i++) {
      const p = parsePrincipal(list[i]);
      if (p === null) failAt(o, RULE[RuleField.principals], i, text(Text.invalidValue));
      else out.push(p);
    }
    rule.principals = out;
    rule.required |= KIND_PRINCIPAL;
  }
  rule.jwt = readJwtCondition(o, config);
  if (rule.jwt !== null) rule.required |= KIND_JWT;
  const keys = config.apiKeys;
  rule.apiKeys = indices(o, RULE[RuleField.api_keys], keys !== null ? keys.names : null);
  if (rule.apiKeys !== null) rule.required |= KIND_API_KEY;
  const users = config.users;
  rule.users = indices(o, RULE[RuleField.users], users !== null ? users.list : null);
  if (rule.users !== null) rule.required |= KIND_USER;
  if (o.has(RULE[RuleField.source_ips])) {
    const list = o.requiredStringArray(RULE[RuleField.source_ips]);
    const out = new Array<Cidr>();
    for (let i = 0; list !== null && i < list.length; i++) {
      const c = parseCidr(list[i]);
      if (c === null) failAt(o, RULE[RuleField.source_ips], i, text(Text.invalidValue));
      else out.push(c);
    }
    rule.sourceIps = out;
  }
  readHeaders(o, config, rule);
  if (rule.action == ACTION_AUDIT && rule.dryRun) o.fail(RULE[RuleField.dry_run], text(Text.invalidValue));
  return rule;
}
