/**
 * `inspect`: what a reference points at, without downloading layers — the manifest's digest,
 * media type, size and annotations, its config and layers (media type, digest, size,
 * annotations); for an index, its children with their platforms and which one istio-agent would
 * pick (linux/amd64). `formatInspection` renders it for people; the object is the `--json` form.
 */
import { toResolver, type RegistryAuth } from "./auth/credentials.ts";
import { parseImageManifest, type Descriptor, type ImageManifest } from "./image/extract.ts";
import { DOCKER_MANIFEST_LIST, MANIFEST_ACCEPT, OCI_INDEX } from "./media-types.ts";
import { formatReference, manifestReference, parseReference } from "./reference.ts";
import { RepositoryClient } from "./registry/client.ts";
import { RegistryTransport } from "./registry/transport.ts";

export interface InspectOptions {
  auth?: RegistryAuth;
  insecure?: boolean;
  fetchImpl?: typeof fetch;
  timeoutMs?: number;
}

export interface IndexChild {
  digest: string;
  mediaType: string;
  size: number;
  platform: string;
}

export interface Inspection {
  reference: string;
  digest: string;
  mediaType: string;
  size: number;
  annotations: Record<string, string>;
  /** Image manifests only. */
  config?: Descriptor;
  layers?: Descriptor[];
  /** Indexes only. */
  manifests?: IndexChild[];
  /** Indexes only: the child istio-agent resolves to, if any. */
  istioChild?: string | null;
}

function platformOf(d: { platform?: { os?: string; architecture?: string; variant?: string } }): string {
  if (!d.platform) return "(none: linux/amd64 for istio-agent)";
  const p = d.platform;
  return [p.os ?? "?", p.architecture ?? "?", ...(p.variant ? [p.variant] : [])].join("/");
}

export async function inspectImage(url: string, opts: InspectOptions = {}): Promise<Inspection> {
  const ref = parseReference(url);
  const transport = new RegistryTransport(ref.registry, toResolver(opts.auth), { insecure: opts.insecure, httpFallback: true, fetchImpl: opts.fetchImpl, timeoutMs: opts.timeoutMs });
  const repo = new RepositoryClient(transport, ref.repository);
  const m = await repo.getManifest(manifestReference(ref), MANIFEST_ACCEPT);
  const body = JSON.parse(Buffer.from(m.bytes).toString("utf8")) as Record<string, unknown>;
  const mediaType = typeof body.mediaType === "string" ? body.mediaType : m.contentType;
  const base: Inspection = {
    reference: formatReference(ref),
    digest: m.digest,
    mediaType,
    size: m.bytes.byteLength,
    annotations: (body.annotations as Record<string, string> | undefined) ?? {},
  };
  if (mediaType === OCI_INDEX || mediaType === DOCKER_MANIFEST_LIST || Array.isArray(body.manifests)) {
    const children = (Array.isArray(body.manifests) ? body.manifests : []) as Array<Descriptor>;
    const manifests = children.map((c) => ({ digest: String(c.digest), mediaType: String(c.mediaType), size: Number(c.size), platform: platformOf(c) }));
    const pick = children.find((c) => (c.platform?.os ?? "linux") === "linux" && (c.platform?.architecture ?? "amd64") === "amd64");
    return { ...base, manifests, istioChild: pick ? String(pick.digest) : null };
  }
  const manifest: ImageManifest = parseImageManifest(m.bytes);
  return { ...base, config: manifest.config, layers: manifest.layers };
}

function descriptorLine(d: Descriptor): string {
  const notes = d.annotations ? ` ${JSON.stringify(d.annotations)}` : "";
  return `${d.mediaType}  ${d.digest}  ${d.size} B${notes}`;
}

export function formatInspection(i: Inspection): string {
  const lines = [
    `reference:  ${i.reference}`,
    `digest:     ${i.digest}`,
    `media type: ${i.mediaType}`,
    `size:       ${i.size} B`,
  ];
  const keys = Object.keys(i.annotations).sort();
  lines.push(`annotations:${keys.length ? "" : " (none)"}`);
  for (const k of keys) lines.push(`  ${k}: ${i.annotations[k]}`);
  if (i.config) lines.push(`config:`, `  ${descriptorLine(i.config)}`);
  if (i.layers) {
    lines.push(`layers: ${i.layers.length}`);
    for (const l of i.layers) lines.push(`  ${descriptorLine(l)}`);
  }
  if (i.manifests) {
    lines.push(`manifests: ${i.manifests.length}`);
    for (const c of i.manifests) lines.push(`  ${c.platform}  ${c.mediaType}  ${c.digest}  ${c.size} B`);
    lines.push(`istio-agent resolves to: ${i.istioChild ?? "nothing (no linux/amd64 child): rejected"}`);
  }
  return lines.join("\n");
}
