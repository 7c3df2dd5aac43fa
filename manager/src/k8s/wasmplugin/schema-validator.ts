/**
 * Validation of a value against a CRD's structural OpenAPI v3 schema, as the API server applies
 * it to a create or update (apiextensions-apiserver: pruning of nulls, kube-openapi validation,
 * then x-kubernetes-validations), for the subset of the schema language the Istio CRDs use:
 * `type`, `properties`, `additionalProperties`, `items`, `required`, `enum`, `pattern`,
 * `min/maxLength` (in characters), `minimum`/`maximum`, `min/maxItems`, `min/maxProperties`,
 * `nullable`, `format: int32`, `oneOf`/`anyOf`/`allOf`/`not` (structural: used for required-field
 * alternatives), `x-kubernetes-preserve-unknown-fields`, `x-kubernetes-int-or-string`,
 * `x-kubernetes-list-type: map|set` with `x-kubernetes-list-map-keys`, and
 * `x-kubernetes-validations` (cel-rules.ts).
 *
 * Field validation is strict, as `kubectl apply` (--validate=strict, the default) asks for: an
 * unknown field is an error instead of being pruned. A null in a field that is not nullable is
 * pruned (treated as absent), as the API server does. Rules run on a node only when the node's
 * own structure is valid. Messages follow the API server's field errors ("Required value",
 * "Unsupported value: …", "Invalid value: …").
 */
import type { JsonSchema } from "../crds/types.ts";
import { evaluateRule } from "./cel-rules.ts";
import type { FieldPath } from "./yaml-source.ts";

export interface SchemaIssue {
  path: FieldPath;
  /** Point at the key rather than the value (unknown fields). */
  atKey?: boolean;
  message: string;
}

const typeName = (v: unknown): string =>
  v === null ? "null" : Array.isArray(v) ? "array" : typeof v === "number" ? (Number.isInteger(v) ? "integer" : "number") : typeof v === "object" ? "object" : typeof v;

const quote = (v: unknown): string => (typeof v === "string" ? JSON.stringify(v) : typeof v === "object" ? `"${typeName(v)}"` : String(v));
const charCount = (s: string): number => [...s].length;

function typeMatches(schema: JsonSchema, v: unknown): boolean {
  if (schema["x-kubernetes-int-or-string"]) return typeof v === "string" || (typeof v === "number" && Number.isInteger(v));
  switch (schema.type) {
    case undefined:
      return true;
    case "object":
      return typeof v === "object" && v !== null && !Array.isArray(v);
    case "array":
      return Array.isArray(v);
    case "string":
      return typeof v === "string";
    case "integer":
      return typeof v === "number" && Number.isInteger(v);
    case "number":
      return typeof v === "number";
    case "boolean":
      return typeof v === "boolean";
  }
}

/** Validates `value` at `path` against `schema`; appends to `issues`. */
export function validateSchema(value: unknown, schema: JsonSchema, path: FieldPath = [], issues: SchemaIssue[] = []): SchemaIssue[] {
  const before = issues.length;
  const add = (message: string, p: FieldPath = path, atKey = false) => issues.push({ path: p, message, ...(atKey ? { atKey } : {}) });
  if (value === null) {
    if (!schema.nullable) add(`Invalid value: "null": must be of type ${schema.type ?? "any"}`);
    return issues;
  }
  if (!typeMatches(schema, value)) {
    const expected = schema["x-kubernetes-int-or-string"] ? "integer or string" : schema.type!;
    add(`Invalid value: ${quote(value)}: must be of type ${expected}`);
    return issues;
  }
  if (schema.enum && !schema.enum.some((e) => e === value)) {
    add(`Unsupported value: ${quote(value)}: supported values: ${schema.enum.map((e) => JSON.stringify(e)).join(", ")}`);
  }
  if (typeof value === "string") {
    if (schema.minLength !== undefined && charCount(value) < schema.minLength) add(`Invalid value: ${quote(value)}: should be at least ${schema.minLength} chars long`);
    if (schema.maxLength !== undefined && charCount(value) > schema.maxLength) add(`Too long: may not be more than ${schema.maxLength} bytes`);
    if (schema.pattern !== undefined && !new RegExp(schema.pattern, "u").test(value)) add(`Invalid value: ${quote(value)}: should match '${schema.pattern}'`);
  }
  if (typeof value === "number") {
    if (schema.minimum !== undefined && value < schema.minimum) add(`Invalid value: ${value}: should be greater than or equal to ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum) add(`Invalid value: ${value}: should be less than or equal to ${schema.maximum}`);
    // kube-openapi does not range-check int32; istiod's protobuf decoding does, so it is an error here too.
    if (schema.format === "int32" && (value < -(2 ** 31) || value > 2 ** 31 - 1)) add(`Invalid value: ${value}: must fit in a 32-bit integer`);
  }
  if (Array.isArray(value)) validateArray(value, schema, path, issues);
  else if (typeof value === "object") validateObject(value as Record<string, unknown>, schema, path, issues);
  for (const [kind, list] of [["oneOf", schema.oneOf], ["anyOf", schema.anyOf]] as const) {
    if (!list) continue;
    const passing = list.filter((s) => validateSchema(value, { ...s, "x-kubernetes-preserve-unknown-fields": true }, path).length === 0).length;
    if (kind === "oneOf" && passing !== 1) add(`Invalid value: ${quote(value)}: must validate one and only one schema (oneOf)${describeAlternatives(list)}`);
    if (kind === "anyOf" && passing === 0) add(`Invalid value: ${quote(value)}: must validate at least one schema (anyOf)${describeAlternatives(list)}`);
  }
  for (const s of schema.allOf ?? []) validateSchema(value, { ...s, "x-kubernetes-preserve-unknown-fields": true }, path, issues);
  if (schema.not && validateSchema(value, { ...schema.not, "x-kubernetes-preserve-unknown-fields": true }, path).length === 0) {
    add(`Invalid value: ${quote(value)}: must not validate the schema (not)`);
  }
  if (issues.length === before) {
    for (const rule of schema["x-kubernetes-validations"] ?? []) {
      const failure = evaluateRule(rule, value);
      if (failure !== null) add(`Invalid value: ${quote(value)}: ${failure}`);
    }
  }
  return issues;
}

/** ": one of [wasm] or [lua] is required" for the required-only alternatives the CRDs use. */
function describeAlternatives(list: JsonSchema[]): string {
  const names = list.map((s) => (s.required?.length ? `[${s.required.join(", ")}]` : "")).filter(Boolean);
  return names.length === list.length ? `: alternatives ${names.join(", ")}` : "";
}

function validateObject(value: Record<string, unknown>, schema: JsonSchema, path: FieldPath, issues: SchemaIssue[]): void {
  const props = schema.properties ?? {};
  const additional = schema.additionalProperties;
  const preserve = schema["x-kubernetes-preserve-unknown-fields"] === true;
  const keys = Object.keys(value);
  for (const key of keys) {
    const v = value[key];
    const declared = props[key];
    const sub = declared ?? (typeof additional === "object" ? additional : undefined);
    if (sub) {
      if (v === null && !sub.nullable) continue; // pruned
      validateSchema(v, sub, [...path, declared ? key : { mapKey: key }], issues);
    } else if (!preserve && additional !== true) {
      issues.push({ path: [...path, key], atKey: true, message: "unknown field" });
    }
  }
  const present = (k: string) => k in value && (value[k] !== null || props[k]?.nullable === true);
  for (const req of schema.required ?? []) if (!present(req)) issues.push({ path: [...path, req], message: "Required value" });
  const count = keys.length;
  if (schema.maxProperties !== undefined && count > schema.maxProperties) issues.push({ path, message: `Too many: ${count}: must have at most ${schema.maxProperties} items` });
  if (schema.minProperties !== undefined && count < schema.minProperties) issues.push({ path, message: `Invalid value: ${count}: must have at least ${schema.minProperties} properties` });
}

function validateArray(value: unknown[], schema: JsonSchema, path: FieldPath, issues: SchemaIssue[]): void {
  if (schema.maxItems !== undefined && value.length > schema.maxItems) issues.push({ path, message: `Too many: ${value.length}: must have at most ${schema.maxItems} items` });
  if (schema.minItems !== undefined && value.length < schema.minItems) issues.push({ path, message: `Invalid value: ${value.length}: must have at least ${schema.minItems} items` });
  if (schema.items) value.forEach((item, i) => validateSchema(item, schema.items!, [...path, i], issues));
  const listType = schema["x-kubernetes-list-type"];
  if (listType === "map" || listType === "set") {
    const keys = schema["x-kubernetes-list-map-keys"] ?? [];
    const seen = new Map<string, number>();
    value.forEach((item, i) => {
      const id = listType === "set" ? JSON.stringify(item) : JSON.stringify(keys.map((k) => (item as Record<string, unknown> | null)?.[k] ?? null));
      if (seen.has(id)) {
        const shown = listType === "set" ? JSON.stringify(item) : JSON.stringify(Object.fromEntries(keys.map((k) => [k, (item as Record<string, unknown>)[k]])));
        issues.push({ path: [...path, i], message: `Duplicate value: ${shown}` });
      } else seen.set(id, i);
    });
  }
}
