/**
 * Image references: `[oci://][REGISTRY/]REPOSITORY[:TAG][@sha256:HEX]`, parsed as
 * go-containerregistry's `name.ParseReference` (what istio-agent calls) resolves them, with the
 * grammar of distribution's `reference` package:
 *
 * - the first path component is a registry when it contains `.` or `:` or is `localhost`;
 *   otherwise the registry is Docker Hub (`index.docker.io`) and a one-component repository
 *   gets the `library/` prefix;
 * - repository components are `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`, the whole name at most
 *   255 characters; tags are `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`; digests are `sha256:` + 64
 *   lowercase hex digits; with both a tag and a digest, the digest decides;
 * - no tag and no digest means `latest`.
 *
 * Malformed references are a UserError naming the reference, the rule broken and the column.
 * `registryScheme` follows go-containerregistry's `Registry.Scheme()`: plain HTTP is allowed for
 * `localhost`, loopback and RFC 1918 addresses (tried after HTTPS), or when asked for.
 */
import { UserError } from "../errors.ts";

export const DOCKER_HUB_REGISTRY = "index.docker.io";
/** The key Docker Hub credentials have in docker's config.json. */
export const DOCKER_HUB_AUTH_KEY = "https://index.docker.io/v1/";

export interface ImageReference {
  /** Registry host[:port], `index.docker.io` for Docker Hub. */
  registry: string;
  /** Repository path inside the registry, e.g. `filters/grpc-auth`. */
  repository: string;
  /** Tag, when one was given (or `latest` when neither a tag nor a digest was). */
  tag?: string;
  /** `sha256:<hex>`, when one was given. */
  digest?: string;
}

const COMPONENT = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
const HOST_LABEL = /^(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])$/;
const MAX_NAME_LENGTH = 255;

function malformed(ref: string, why: string, column: number): never {
  throw new UserError(`malformed image reference "${ref}": ${why} (column ${column})`);
}

function checkRegistry(ref: string, host: string, at: number): void {
  let name = host;
  let port: string | undefined;
  if (host.startsWith("[")) {
    const close = host.indexOf("]");
    if (close < 0) malformed(ref, "unterminated IPv6 address in the registry", at);
    const rest = host.slice(close + 1);
    if (rest !== "" && !/^:\d{1,5}$/.test(rest)) malformed(ref, `bad registry port "${rest.slice(1)}"`, at + close + 2);
    if (!/^\[[0-9A-Fa-f:.]+\]$/.test(host.slice(0, close + 1))) malformed(ref, "bad IPv6 address in the registry", at);
    return;
  }
  const colon = host.lastIndexOf(":");
  if (colon >= 0) {
    name = host.slice(0, colon);
    port = host.slice(colon + 1);
    if (!/^\d{1,5}$/.test(port) || Number(port) > 65535) malformed(ref, `bad registry port "${port}"`, at + colon + 1);
  }
  let col = at;
  for (const label of name.split(".")) {
    if (!HOST_LABEL.test(label)) malformed(ref, `bad registry host "${name}"`, col);
    col += label.length + 1;
  }
}

/**
 * Parses an image reference; an `oci://` prefix (WasmPlugin `url`) is accepted and dropped.
 * Columns in errors count from 1 in the string as given.
 */
export function parseReference(input: string): ImageReference {
  const ref = input.trim();
  if (ref === "") throw new UserError("malformed image reference \"\": empty");
  let offset = 1;
  let rest = ref;
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(rest);
  if (scheme) {
    if (scheme[1]!.toLowerCase() !== "oci") malformed(ref, `unsupported scheme "${scheme[1]}://" (only oci:// names an image)`, 1);
    rest = rest.slice(scheme[0].length);
    offset += scheme[0].length;
  }

  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    if (!DIGEST.test(digest)) {
      malformed(ref, `digest must be sha256: followed by 64 lowercase hex digits, got "${digest}"`, offset + at + 1);
    }
    rest = rest.slice(0, at);
  }

  let registry = DOCKER_HUB_REGISTRY;
  let pathStart = 0;
  const slash = rest.indexOf("/");
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (first.includes(".") || first.includes(":") || first === "localhost" || first.startsWith("[")) {
      checkRegistry(ref, first, offset);
      registry = first === "docker.io" ? DOCKER_HUB_REGISTRY : first;
      pathStart = slash + 1;
    }
  }

  let name = rest.slice(pathStart);
  let tag: string | undefined;
  const lastColon = name.lastIndexOf(":");
  if (lastColon >= 0) {
    tag = name.slice(lastColon + 1);
    if (!TAG.test(tag)) {
      malformed(ref, `tag must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}, got "${tag}"`, offset + pathStart + lastColon + 1);
    }
    name = name.slice(0, lastColon);
  }
  if (name === "") malformed(ref, "missing repository name", offset + pathStart);
  let col = offset + pathStart;
  for (const component of name.split("/")) {
    if (component === "") malformed(ref, "empty path component in the repository name", col);
    if (!COMPONENT.test(component)) {
      const why = /[A-Z]/.test(component)
        ? `repository name must be lowercase, got "${component}"`
        : `bad repository path component "${component}" (allowed: a-z 0-9 and single . _ __ - separators)`;
      malformed(ref, why, col);
    }
    col += component.length + 1;
  }
  if (registry === DOCKER_HUB_REGISTRY && !name.includes("/")) name = `library/${name}`;
  if (name.length > MAX_NAME_LENGTH) malformed(ref, `repository name longer than ${MAX_NAME_LENGTH} characters`, offset + pathStart);
  if (tag === undefined && digest === undefined) tag = "latest";
  return { registry, repository: name, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

/** The manifest reference to ask the registry for: the digest when known, else the tag. */
export function manifestReference(ref: ImageReference): string {
  return ref.digest ?? ref.tag ?? "latest";
}

/** `registry/repository[:tag][@digest]`, the canonical form. */
export function formatReference(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}${ref.tag !== undefined ? `:${ref.tag}` : ""}${ref.digest ? `@${ref.digest}` : ""}`;
}

/** `registry/repository@sha256:...`. */
export function digestReference(ref: ImageReference, digest: string): string {
  return `${ref.registry}/${ref.repository}@${digest}`;
}

/** True when `tag` is a valid tag. */
export function isValidTag(tag: string): boolean {
  return TAG.test(tag);
}

/**
 * Turns a version into a tag: SemVer build metadata (`+commit`) is not allowed in tags, so `+`
 * becomes `_` (the convention Helm uses for OCI charts); anything else outside the tag alphabet
 * is an error.
 */
export function tagFromVersion(version: string): string {
  const tag = version.replace(/\+/g, "_");
  if (!TAG.test(tag)) throw new UserError(`version "${version}" cannot be used as an image tag: give REPO:TAG explicitly`);
  return tag;
}

function isPrivateOrLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "");
  if (h === "localhost" || h.endsWith(".localhost") || h === "::1") return true;
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(h);
  if (!m) return false;
  const [a, b] = [Number(m[1]), Number(m[2])];
  return a === 127 || a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168);
}

/** The host part of `registry` (no port). */
export function registryHost(registry: string): string {
  if (registry.startsWith("[")) return registry.slice(0, registry.indexOf("]") + 1);
  const colon = registry.lastIndexOf(":");
  return colon >= 0 ? registry.slice(0, colon) : registry;
}

/**
 * The schemes to try for `registry`, in order: HTTPS, then plain HTTP where
 * go-containerregistry allows it (localhost, loopback, RFC 1918) or when `insecure` is set.
 */
export function registrySchemes(registry: string, insecure: boolean): Array<"https" | "http"> {
  return insecure || isPrivateOrLoopback(registryHost(registry)) ? ["https", "http"] : ["https"];
}

/** True for hosts istio-agent ≥ 1.30 refuses as bearer-token realms (pkg/wasm/ssrf.go). */
export function isPrivateHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "");
  if (isPrivateOrLoopback(h)) return true;
  if (/^169\.254\./.test(h)) return true;
  return /^(fc|fd|fe80)[0-9a-f]*:/i.test(h);
}
