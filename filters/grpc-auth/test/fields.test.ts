/**
 * assembly/fields.ts keeps each configuration object's field names in one `names` byte table
 * (its text in a comment, checked against the bytes by names.test.ts) and a const enum `XField { a, b }` that indexes it: the two must list the same names in the same
 * order, or the filter would read one field under another's name. This reads the source and
 * checks every table against its enum, and that each table is the known-field list the policy
 * compiler's output uses (every key of a compiled configuration is in its table).
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { compilePolicy } from "../../../manager/src/policy/index.ts";
import { policyOf } from "./harness.ts";
import { fixturePolicyYaml } from "./fixture.ts";

const source = readFileSync(new URL("../assembly/fields.ts", import.meta.url), "utf8");

/** [TABLE name, its names, the enum's members] for each table followed by its enum. */
function tables(): Array<{ table: string; names: string[]; members: string[] | null }> {
  const out: Array<{ table: string; names: string[]; members: string[] | null }> = [];
  const re = /export const (\w+) = names\(memory\.data<u8>\(\[ \/\/ (".*")\n[\s\S]*?\]\), \d+\);(?:\s*export const enum \w+ \{([^}]*)\})?/g;
  for (const m of source.matchAll(re)) {
    const text = JSON.parse(m[2]!) as string; // the bytes are this text: names.test.ts
    const members = m[3] !== undefined ? m[3].split(",").map((s) => s.trim()).filter((s) => s.length > 0) : null;
    out.push({ table: m[1]!, names: text.split("|"), members });
  }
  return out;
}

describe("configuration field tables (assembly/fields.ts)", () => {
  it("every const enum lists its table's names in the table's order", () => {
    const all = tables();
    expect(all.length).toBeGreaterThanOrEqual(13);
    for (const t of all.filter((x) => x.members !== null)) {
      expect({ table: t.table, members: t.members }).toEqual({ table: t.table, members: t.names });
    }
    expect(all.filter((x) => x.members !== null).length).toBe(13);
  });

  it("every key of a compiled configuration is in the table of its object", () => {
    const byName = new Map(tables().map((t) => [t.table, new Set(t.names)]));
    const config = JSON.parse(compilePolicy(policyOf(fixturePolicyYaml()))) as Record<string, unknown>;
    const seen = new Set<string>();
    const check = (value: unknown, table: string): void => {
      if (value === null || typeof value !== "object" || Array.isArray(value)) return;
      seen.add(table);
      for (const key of Object.keys(value)) expect(`${table}.${key}`).toBe(byName.get(table)!.has(key) ? `${table}.${key}` : `(unknown) ${table}.${key}`);
    };
    check(config, "TOP");
    const obj = (v: unknown) => (v ?? {}) as Record<string, unknown>;
    const arr = (v: unknown) => (Array.isArray(v) ? v : []) as unknown[];
    for (const r of arr(config.rules)) {
      check(r, "RULE");
      check(obj(r).jwt, "RULE_JWT");
      for (const c of arr(obj(obj(r).jwt).claims)) check(c, "CLAIM");
      for (const h of arr(obj(r).headers)) check(h, "HEADER");
    }
    check(config.api_keys, "API_KEYS");
    for (const k of arr(obj(config.api_keys).keys)) check(k, "API_KEY");
    check(config.passwords, "PASSWORDS");
    for (const u of arr(obj(config.passwords).users)) check(u, "USER");
    check(config.jwt, "JWT");
    for (const p of arr(obj(config.jwt).providers)) {
      check(p, "PROVIDER");
      for (const k of arr(obj(p).keys)) check(k, "KEY");
      check(obj(p).jwt_authn, "JWT_AUTHN");
    }
    expect([...seen].sort()).toEqual(["API_KEY", "API_KEYS", "CLAIM", "HEADER", "JWT", "JWT_AUTHN", "KEY", "PASSWORDS", "PROVIDER", "RULE", "RULE_JWT", "TOP", "USER"]);
  });
});
