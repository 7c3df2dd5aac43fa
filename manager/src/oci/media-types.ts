/**
 * Media types and annotation keys of Wasm images, as istio-agent (pkg/wasm/imagefetcher.go) and
 * the solo-io/wasm image specs (spec.md: the *oci* variant; spec-compat.md: the *compat* variant)
 * name them, plus the OCI image-spec and Docker manifest types a registry can answer with.
 */

export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
export const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
export const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
export const DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
export const DOCKER_MANIFEST_SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+json";
export const DOCKER_MANIFEST_SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws";

export const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
/** The compat variant's layer (OCI flavour): a tar+gzip holding `plugin.wasm`. */
export const OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";
/** The compat variant's layer (Docker flavour). */
export const DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip";
/** The oci variant's raw-Wasm layer (one of exactly two layers). */
export const WASM_CONTENT_LAYER = "application/vnd.module.wasm.content.layer.v1+wasm";
export const WASM_CONFIG = "application/vnd.module.wasm.config.v1+json";

/** The file the compat variant's layer must hold (matched by basename). */
export const PLUGIN_FILE_NAME = "plugin.wasm";

/** Manifest types a pull asks for, in go-containerregistry's order of preference. */
export const MANIFEST_ACCEPT = [OCI_MANIFEST, DOCKER_MANIFEST, OCI_INDEX, DOCKER_MANIFEST_LIST].join(", ");

export const ANNOTATION_VARIANT = "module.wasm.image/variant";
export const ANNOTATION_RUNTIME_TYPE = "module.wasm.runtime/type";
export const ANNOTATION_ABI_VERSION = "module.wasm.runtime/abi_version";
export const ANNOTATION_TITLE = "org.opencontainers.image.title";
export const ANNOTATION_VERSION = "org.opencontainers.image.version";
export const ANNOTATION_REVISION = "org.opencontainers.image.revision";
export const ANNOTATION_DESCRIPTION = "org.opencontainers.image.description";

/** istio-agent's module size cap (pkg/wasm; ISTIO_WASM_MAX_BINARY_SIZE_BYTES from 1.30). */
export const DEFAULT_MAX_WASM_BYTES = 256 * 1024 * 1024;
