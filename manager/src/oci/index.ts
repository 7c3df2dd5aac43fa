/**
 * Istio-compatible Wasm images on any OCI registry: the library behind `meshwasm push | pull |
 * verify | inspect`, and what the sidecar's `--plugins` uses for `oci://` URLs.
 *
 * Stable API:
 *
 * ```ts
 * pullWasmImage(ref, opts?): Promise<PulledImage>
 *   // ref: "[oci://]registry/repo[:tag][@sha256:…]"
 *   // opts: { auth?, insecure?, expectedSha256?, maxBytes?, fetchImpl?, timeoutMs?, transport? }
 *   // -> { wasm, manifestDigest: "sha256:…", ref, manifest, variant, wasmSha256, indexDigest?, warnings }
 * resolveWasmImage(ref, opts?): Promise<ResolvedImage>   // manifest digest first, fetchBinary() later
 * pushWasmImage(target, { wasm, name, version, revision?, abi?, description? }, opts?)
 *   // -> { manifestDigest, pinned: "registry/repo@sha256:…", tag, blobs, … }
 * inspectImage(ref, opts?): Promise<Inspection>
 * ```
 *
 * Pulls check exactly what istio-agent checks (pull.ts): index -> linux/amd64 child, Docker and
 * OCI compat paths, the 2-layer oci variant, `plugin.wasm` by basename, gzip only, the Wasm
 * magic, `expectedSha256` = manifest digest (compared before layers are fetched), a 256 MiB cap.
 * A failure is a `WasmPullError` whose message is istio-agent's and whose `result` is the
 * `wasm_remote_fetch_count` label istio-agent would count.
 *
 * `auth` is fixed credentials (`{ username, password }`, `{ identityToken }`,
 * `{ registryToken }`), a resolver such as `dockerConfigKeychain(pullSecretJson)` (a
 * `kubernetes.io/dockerconfigjson` secret, with credHelpers / credsStore), or omitted for the
 * default keychain (docker's config.json), as istio-agent does without `imagePullSecret`.
 * `insecure` allows plain HTTP to any registry; localhost, loopback and RFC 1918 registries may
 * always use it, and pulls fall back to it when a server answers HTTPS in plain HTTP.
 */
export { pullWasmImage, resolveWasmImage, WasmPullError } from "./pull.ts";
export type { PullOptions, PulledImage, ResolvedImage, FetchFailure } from "./pull.ts";
export { pushWasmImage } from "./push.ts";
export type { PushOptions, PushInput, PushResult, PushedBlob, PushProgress } from "./push.ts";
export { inspectImage, formatInspection } from "./inspect.ts";
export type { Inspection, InspectOptions, IndexChild } from "./inspect.ts";
export { parseReference, formatReference, digestReference, tagFromVersion } from "./reference.ts";
export type { ImageReference } from "./reference.ts";
export type { ImageReference as ParsedRef } from "./reference.ts";
export { dockerConfigKeychain, defaultKeychain, dockerConfigPath, toResolver } from "./auth/credentials.ts";
export type { RegistryAuth, RegistryCredentials, CredentialResolver } from "./auth/credentials.ts";
export { RegistryTransport, RegistryError } from "./registry/transport.ts";
export type { TransportOptions } from "./registry/transport.ts";
export { buildCompatImage, hasWasmMagic } from "./image/compat-image.ts";
export type { CompatImage, CompatImageInput, Blob } from "./image/compat-image.ts";
export type { ImageManifest, Descriptor, WasmVariant } from "./image/extract.ts";
export { loadBuiltFilter } from "./build-manifest.ts";
export type { BuiltFilter } from "./build-manifest.ts";
export { BlobLocations, defaultBlobLocationsFile } from "./blob-locations.ts";
export * as mediaTypes from "./media-types.ts";
