/**
 * google.protobuf.Any handling. A typed_config is `{"@type": "<prefix>/<full.type.Name>", ...fields}`;
 * Envoy selects the extension by that type (the name beside it does not matter) and also
 * accepts the body wrapped in `udpa.type.v1.TypedStruct` / `xds.type.v3.TypedStruct`
 * (`{type_url, value: <Struct of the fields>}`). Wasm `configuration` Anys become the bytes
 * the plugin reads: StringValue -> UTF-8, BytesValue -> decoded bytes, other types -> the
 * Any's serialized value (for Struct, its protobuf encoding), as Envoy's Wasm anyToBytes does.
 */
import { Ctx, Message, type At, joinPath, NOT_SUPPORTED } from "./fields.ts";
import { toPlain } from "./source-tree.ts";
import { encodeStruct } from "./struct-proto.ts";

const TYPED_STRUCTS = new Set(["udpa.type.v1.TypedStruct", "xds.type.v3.TypedStruct"]);

export interface Typed {
  /** Full message name, e.g. "envoy.extensions.filters.http.router.v3.Router". */
  type: string;
  /** Reader over the message body (fields beside "@type", or the TypedStruct's value). */
  msg: Message;
  /** Where the @type (or TypedStruct type_url) is, for errors about the type. */
  typeAt: At;
}

export function typeNameOf(url: string): string {
  return url.slice(url.lastIndexOf("/") + 1);
}

/** Opens an Any. Reports a missing/invalid @type and returns undefined. */
export function openTyped(ctx: Ctx, at: At): Typed | undefined {
  if (at.node.kind !== "map") {
    ctx.error(at.path, at.node, "expected object");
    return undefined;
  }
  const typeEntry = at.node.entries.find((e) => e.key === "@type");
  if (!typeEntry) {
    ctx.error(joinPath(at.path, "@type"), at.node, "is required");
    return undefined;
  }
  const typeAt = { node: typeEntry.value, path: joinPath(at.path, "@type") };
  if (typeEntry.value.kind !== "scalar" || typeof typeEntry.value.value !== "string" || !typeEntry.value.value.includes("/")) {
    ctx.error(typeAt.path, typeEntry.value, "expected a type URL such as type.googleapis.com/<message>");
    return undefined;
  }
  const outer = typeNameOf(typeEntry.value.value);
  if (!TYPED_STRUCTS.has(outer)) {
    return { type: outer, msg: new Message(ctx, at.node, at.path, outer), typeAt };
  }
  const ts = new Message(ctx, at.node, at.path, outer);
  const urlAt = ts.get("type_url");
  const valueAt = ts.get("value");
  ts.done();
  if (!urlAt) {
    ts.required("type_url");
    return undefined;
  }
  if (urlAt.node.kind !== "scalar" || typeof urlAt.node.value !== "string") {
    ctx.error(urlAt.path, urlAt.node, "expected string");
    return undefined;
  }
  const inner = typeNameOf(urlAt.node.value);
  if (valueAt && valueAt.node.kind !== "map") {
    ctx.error(valueAt.path, valueAt.node, "expected object");
    return undefined;
  }
  const body = valueAt?.node.kind === "map" ? valueAt.node : { kind: "map" as const, entries: [], line: at.node.line, col: at.node.col };
  return { type: inner, msg: new Message(ctx, body, at.path, inner, joinPath(at.path, "value")), typeAt: urlAt };
}

/** Reports an Any whose type is not one the field accepts. */
export function unknownType(ctx: Ctx, t: Typed, accepted: string[]): void {
  ctx.error(t.typeAt.path, t.typeAt.node, `unknown or unsupported type ${t.type}; expected ${accepted.join(" or ")}`);
}

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

/** Decodes protobuf-JSON bytes (standard or URL-safe base64, padding optional). */
export function decodeBase64(ctx: Ctx, at: At): Uint8Array | undefined {
  const n = at.node;
  if (n.kind !== "scalar" || typeof n.value !== "string") {
    ctx.error(at.path, n, "expected base64 string");
    return undefined;
  }
  const s = n.value.replace(/\s+/g, "");
  if (!BASE64.test(s) || s.replace(/=+$/, "").length % 4 === 1) {
    ctx.error(at.path, n, "invalid base64");
    return undefined;
  }
  return new Uint8Array(Buffer.from(s.replace(/-/g, "+").replace(/_/g, "/"), "base64"));
}

const STRING_VALUE = "google.protobuf.StringValue";
const BYTES_VALUE = "google.protobuf.BytesValue";
const STRUCT = "google.protobuf.Struct";

/** A Wasm `configuration` Any -> the bytes proxy_get_buffer(PluginConfiguration/VmConfiguration) returns. */
export function wasmConfigurationBytes(ctx: Ctx, at: At | undefined): Uint8Array {
  if (!at) return new Uint8Array();
  if (at.node.kind !== "map") {
    ctx.error(at.path, at.node, "expected object");
    return new Uint8Array();
  }
  const typeEntry = at.node.entries.find((e) => e.key === "@type");
  const type = typeEntry && typeEntry.value.kind === "scalar" && typeof typeEntry.value.value === "string" ? typeNameOf(typeEntry.value.value) : undefined;
  if (!type) {
    ctx.error(joinPath(at.path, "@type"), typeEntry?.value ?? at.node, typeEntry ? "expected a type URL" : "is required");
    return new Uint8Array();
  }
  const m = new Message(ctx, at.node, at.path, type);
  const valueAt = m.get("value");
  let out: Uint8Array = new Uint8Array();
  if (type === STRING_VALUE) {
    if (valueAt) {
      if (valueAt.node.kind === "scalar" && typeof valueAt.node.value === "string") out = new TextEncoder().encode(valueAt.node.value);
      else ctx.error(valueAt.path, valueAt.node, "expected string");
    }
  } else if (type === BYTES_VALUE) {
    if (valueAt) out = decodeBase64(ctx, valueAt) ?? out;
  } else if (type === STRUCT) {
    if (valueAt) {
      if (valueAt.node.kind === "map") out = encodeStruct(toPlain(valueAt.node) as Record<string, unknown>);
      else ctx.error(valueAt.path, valueAt.node, "expected object");
    }
  } else {
    ctx.error(
      joinPath(at.path, "@type"),
      typeEntry!.value,
      `${NOT_SUPPORTED}: configuration of type ${type}; use google.protobuf.StringValue, BytesValue or Struct`,
    );
    return out;
  }
  // "value" is the only field these wrappers have.
  for (const e of at.node.entries) {
    if (e.key !== "@type" && e.key !== "value") ctx.error(joinPath(at.path, e.key), e.keyPos, "unknown field");
  }
  return out;
}
