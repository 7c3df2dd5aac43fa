/**
 * Registry credentials and where they come from, as docker and go-containerregistry's default
 * keychain find them:
 *
 * - docker's `config.json` (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`), or the
 *   same JSON handed over directly (a Kubernetes `kubernetes.io/dockerconfigjson` pull secret, as
 *   istio-agent's `imagePullSecret` keychain reads it);
 * - for a registry, `credHelpers[registry]` first, then `credsStore`, then `auths[registry]`
 *   (keys compared by host, so `https://host/v1/` matches `host`); Docker Hub's key is
 *   `https://index.docker.io/v1/`;
 * - `auths` entries carry `auth` (base64 `user:password`) or `username`/`password`, and may carry
 *   `identitytoken` (an OAuth2 refresh token) or `registrytoken` (a bearer token used as is);
 * - helpers speak docker's credential-helper protocol (cred-helper.ts).
 *
 * No match means anonymous access. Secrets never appear in errors or `describeCredentials`.
 */
import { readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { UserError } from "../../errors.ts";
import { DOCKER_HUB_AUTH_KEY, DOCKER_HUB_REGISTRY } from "../reference.ts";
import { runCredentialHelper, type HelperOptions } from "./cred-helper.ts";

export interface RegistryCredentials {
  username?: string;
  password?: string;
  /** OAuth2 refresh token exchanged at the token realm (`identitytoken`). */
  identityToken?: string;
  /** A bearer token sent as is (`registrytoken`). */
  registryToken?: string;
}

/** Finds the credentials for a registry host[:port]; undefined means anonymous. */
export type CredentialResolver = (registry: string) => Promise<RegistryCredentials | undefined>;

/** What `auth` options accept: fixed credentials, a resolver, or nothing (default keychain). */
export type RegistryAuth = RegistryCredentials | CredentialResolver;

interface DockerAuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
  registrytoken?: string;
}

interface DockerConfigFile {
  auths?: Record<string, DockerAuthEntry>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

/** Path of docker's config.json as docker finds it. */
export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.DOCKER_CONFIG ?? path.join(os.homedir(), ".docker");
  return path.join(dir, "config.json");
}

/** `https://host/v1/` -> `host`, as docker's ConvertToHostname. */
function hostnameOf(key: string): string {
  let s = key.replace(/^https?:\/\//, "");
  const slash = s.indexOf("/");
  if (slash >= 0) s = s.slice(0, slash);
  return s;
}

function authKeyFor(registry: string): string {
  return registry === DOCKER_HUB_REGISTRY ? DOCKER_HUB_AUTH_KEY : registry;
}

function lookup<T>(map: Record<string, T> | undefined, registry: string): T | undefined {
  if (!map) return undefined;
  const key = authKeyFor(registry);
  if (key in map) return map[key];
  const host = hostnameOf(key);
  for (const [k, v] of Object.entries(map)) if (hostnameOf(k) === host) return v;
  return undefined;
}

function fromEntry(entry: DockerAuthEntry, where: string): RegistryCredentials | undefined {
  const creds: RegistryCredentials = {};
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon < 0) throw new UserError(`${where}: auth is not base64 of "user:password"`);
    creds.username = decoded.slice(0, colon);
    creds.password = decoded.slice(colon + 1);
  } else {
    if (entry.username) creds.username = entry.username;
    if (entry.password) creds.password = entry.password;
  }
  if (entry.identitytoken) creds.identityToken = entry.identitytoken;
  if (entry.registrytoken) creds.registryToken = entry.registrytoken;
  return Object.keys(creds).length ? creds : undefined;
}

/**
 * Where JSON.parse stopped, as "line L, column C", without its message: V8 quotes the input
 * around the fault ("Unexpected token 'd', ...\"auth\":dXNlcjpz\"... is not valid JSON"), and in
 * a docker config that text may be a credential.
 */
function jsonFaultOf(text: string, error: unknown): string {
  const message = error instanceof Error ? error.message : "";
  if (/Unexpected end of JSON input/.test(message)) return "it ends early";
  const position = /at position (\d+)/.exec(message);
  if (!position) return "an unexpected character";
  const before = text.slice(0, Number(position[1])).split("\n");
  return `line ${before.length}, column ${before[before.length - 1]!.length + 1}`;
}

function parseConfig(text: string, source: string): DockerConfigFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${source}: not valid JSON (${jsonFaultOf(text, e)})`);
  }
  if (raw === null) return {};
  if (typeof raw !== "object" || Array.isArray(raw)) throw new UserError(`${source}: expected a JSON object`);
  const cfg = raw as Record<string, unknown>;
  for (const key of ["auths", "credHelpers"] as const) {
    const v = cfg[key];
    if (v !== undefined && (typeof v !== "object" || v === null || Array.isArray(v))) throw new UserError(`${source}: ${key}: expected an object`);
  }
  if (cfg.credsStore !== undefined && typeof cfg.credsStore !== "string") throw new UserError(`${source}: credsStore: expected a string`);
  return cfg as DockerConfigFile;
}

/**
 * A resolver over docker config JSON (`config.json` contents or a dockerconfigjson secret).
 * `source` names it in errors; `helper` configures how credential helpers run.
 */
export function dockerConfigKeychain(json: string, source = "docker config", helper: HelperOptions = {}): CredentialResolver {
  const cfg = parseConfig(json, source);
  return async (registry) => {
    const helperName = lookup(cfg.credHelpers, registry) ?? cfg.credsStore;
    if (helperName) {
      const fromHelper = await runCredentialHelper(helperName, authKeyFor(registry), helper);
      if (fromHelper) return fromHelper;
      if (lookup(cfg.credHelpers, registry)) return undefined;
    }
    const entry = lookup(cfg.auths, registry);
    return entry ? fromEntry(entry, `${source}: auths["${authKeyFor(registry)}"]`) : undefined;
  };
}

/**
 * go-containerregistry's default keychain: docker's config.json, read at each lookup (a missing
 * file means anonymous).
 */
export function defaultKeychain(opts: { configPath?: string; helper?: HelperOptions } = {}): CredentialResolver {
  return async (registry) => {
    const file = opts.configPath ?? dockerConfigPath(opts.helper?.env ?? process.env);
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw new UserError(`cannot read ${file}: ${(e as Error).message}`);
    }
    return dockerConfigKeychain(text, file, opts.helper)(registry);
  };
}

/** Normalises an `auth` option into a resolver (undefined -> the default keychain). */
export function toResolver(auth: RegistryAuth | undefined): CredentialResolver {
  if (auth === undefined) return defaultKeychain();
  if (typeof auth === "function") return auth;
  const fixed = { ...auth };
  return async () => fixed;
}

/** Who the credentials are, for messages: never the secret. */
export function describeCredentials(creds: RegistryCredentials | undefined): string {
  if (!creds) return "anonymous";
  if (creds.registryToken) return "a registry token";
  if (creds.identityToken) return `an identity token${creds.username ? ` (user "${creds.username}")` : ""}`;
  return creds.username ? `user "${creds.username}"` : "anonymous";
}
