/**
 * The SDK's JSON reader for plugin configuration (Istio delivers `pluginConfig` as JSON), one
 * module for every filter:
 *  - `parseJsonBytes(bytes)` / `parseJson(text)` -> `JsonParseResult` { value, error, offset, path }:
 *    RFC 8259 exactly as V8's JSON.parse reads it (json/parser.ts), never trapping, looping or
 *    reading out of bounds on any input; nesting is limited to `JSON_MAX_DEPTH` (128).
 *  - `JsonValue` / `JsonObject` (json/value.ts): a dynamic value with typed getters that return
 *    null (or NaN / a fallback) on a wrong type and never coerce.
 *  - `ConfigReader` (json/config-reader.ts): typed field access for onConfigure with errors such as
 *    `rules[2].method: expected string, got number`.
 * filters/sdk/README.md ("Configuration JSON") has an example and the measured cost.
 */
export { JsonParseResult, JSON_MAX_DEPTH, parseJson, parseJsonBytes } from "./json/parser";
export { JsonKind, JsonObject, JsonValue, MAX_SAFE_INTEGER, jsonKindName } from "./json/value";
export { ConfigArray, ConfigObject, ConfigReader } from "./json/config-reader";
export { displayPath, pathWithIndex, pathWithKey } from "./json/path";
