/**
 * ConfigReader (filters/sdk/json/config-reader.ts) through the harness's sample schema
 * (`readConfig` in harness/json-harness.as.ts: the shape of an auth policy, with
 * rules[i].identities.jwt three levels down). Checks every message form exactly:
 * "<path>: expected <type>, got <type>", integers (3.7 and out-of-range rejected, never
 * truncated), inclusive min / max, enums, unknown fields by path, nested paths, quoted keys,
 * null as absent for optional fields, the error cap and the summary line, string values never
 * echoed, and the values read from a valid configuration.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { compileJsonHarness, loadJsonHarness, type JsonHarness } from "./json-harness.ts";

let h: JsonHarness;
beforeAll(async () => {
  h = await loadJsonHarness(await compileJsonHarness());
}, 180_000);

type Outcome = { ok: true; lines: string[] } | { ok: false; count: number; errors: string[]; summary: string };

function read(json: string | Uint8Array, maxErrors = 16, mode: "bytes" | "text" = "bytes"): Outcome {
  const lines = h.readConfig(json, maxErrors, mode);
  if (lines[0] === "ok") return { ok: true, lines: lines.slice(1) };
  const count = /^errors (\d+)$/.exec(lines[0]!);
  expect(count, lines.join("\n")).not.toBeNull();
  const last = lines[lines.length - 1]!;
  expect(last.startsWith("summary ")).toBe(true);
  return { ok: false, count: Number(count![1]), errors: lines.slice(1, -1), summary: last.slice("summary ".length) };
}

/** The error lines of a configuration that must fail. */
function errorsOf(json: string, maxErrors = 16): string[] {
  const r = read(json, maxErrors);
  if (r.ok) throw new Error(`accepted: ${json}`);
  return r.errors;
}

/** A minimal valid configuration with `fields` merged in (JSON text of the members). */
const config = (fields = "", rules = "[]") => `{"name":"auth","rules":${rules}${fields ? "," + fields : ""}}`;

describe("ConfigReader: a valid configuration", () => {
  it("reads every field, defaults for the absent ones", () => {
    const json = JSON.stringify({
      name: "auth-é", enabled: false, weight: 100, port: 65535, mode: "AUDIT", hosts: ["a.example", "b.example"],
      limits: { rps: 0, burst: 1000 },
      rules: [
        { method: "/pkg.Svc/Get", allow: true, principals: [] },
        { method: "/pkg.Svc/Put", allow: false, principals: ["spiffe://a", "spiffe://b"], priority: -7,
          identities: { jwt: { issuer: "https://issuer.example", audiences: ["x"], keys: [{ alg: "EdDSA" }, { alg: "HS256" }] } } },
      ],
      labels: { team: "payments", tier: "1" },
    });
    const r = read(json);
    expect(r).toEqual({
      ok: true,
      lines: [
        "name=auth-é", "enabled=false", "weight=100.0", "port=65535", "mode=2", "hosts=a.example|b.example",
        "limits.rps=0.0", "limits.burst=1000",
        "rules[0].method=/pkg.Svc/Get", "rules[0].allow=true", "rules[0].principals=", "rules[0].priority=-1",
        "rules[1].method=/pkg.Svc/Put", "rules[1].allow=false", "rules[1].principals=spiffe://a|spiffe://b", "rules[1].priority=-7",
        "rules[1].identities.jwt.issuer=https://issuer.example", "rules[1].identities.jwt.audiences=x",
        "rules[1].identities.jwt.keys[0].alg=1", "rules[1].identities.jwt.keys[1].alg=0",
        "labels.team=payments", "labels.tier=1",
      ],
    });
    expect(read(json, 16, "text")).toEqual(r);
  });

  it("optional fields: JSON null reads as absent (the default), not as an error", () => {
    expect(read(config('"enabled":null,"weight":null,"port":null,"mode":null,"hosts":null,"limits":null,"labels":null'))).toEqual({
      ok: true, lines: ["name=auth", "enabled=true", "weight=1.5", "port=8080", "mode=0", "hosts="],
    });
  });

  it("integral floats are integers: 3.0, 3e0, 0.3e1 and -0 are read as 3, 3, 3 and 0", () => {
    for (const text of ["3.0", "3e0", "0.3e1"]) expect(read(config(`"port":${text}`))).toMatchObject({ ok: true, lines: expect.arrayContaining(["port=3"]) });
    expect(read(config('"limits":{"rps":1,"burst":-0}'))).toMatchObject({ ok: true, lines: expect.arrayContaining(["limits.burst=0"]) });
  });

  it("ranges are inclusive at both ends", () => {
    for (const [field, line] of [['"port":1', "port=1"], ['"port":65535', "port=65535"], ['"weight":0', "weight=0.0"], ['"weight":100', "weight=100.0"]] as const) {
      expect(read(config(field))).toMatchObject({ ok: true, lines: expect.arrayContaining([line]) });
    }
  });
});

describe("ConfigReader: the root", () => {
  it("an empty or whitespace-only configuration reads as {} (Istio sends no bytes without pluginConfig)", () => {
    for (const input of ["", " \n\t\r "]) {
      for (const mode of ["bytes", "text"] as const) {
        expect(read(input, 16, mode)).toEqual({
          ok: false, count: 2, errors: ["name: missing, expected string", "rules: missing, expected array"],
          summary: "name: missing, expected string (and 1 more error)",
        });
      }
    }
  });

  it("a root that is not an object: (root): expected object, got <type>", () => {
    for (const [json, type] of [["[]", "array"], ["null", "null"], ["1", "number"], ["\"x\"", "string"], ["true", "boolean"]]) {
      expect(read(json!)).toEqual({ ok: false, count: 1, errors: [`(root): expected object, got ${type}`], summary: `(root): expected object, got ${type}` });
    }
  });

  it("invalid JSON: one line with the parser's message, path and location", () => {
    expect(errorsOf("{\"name\":\"a\",\n \"rules\": [1,]}")).toEqual([
      "invalid JSON: unexpected ']', expected a value at rules[1] (line 2, column 14, byte 26)",
    ]);
    expect(errorsOf("{")).toEqual(["invalid JSON: unexpected end of input, expected a string key (line 1, column 2, byte 1)"]);
    expect(read("{\"a\":1}x", 16, "text")).toMatchObject({ ok: false, errors: ["invalid JSON: unexpected 'x', expected end of input after the JSON value (line 1, column 8, byte 7)"] });
  });
});

describe("ConfigReader: message forms", () => {
  const cases: Array<[string, string, string]> = [
    ["string", config().replace('"name":"auth"', '"name":7'), "name: expected string, got number"],
    ["boolean", config('"enabled":"yes"'), "enabled: expected boolean, got string"],
    ["boolean from a number", config('"enabled":1'), "enabled: expected boolean, got number"],
    ["number", config('"weight":"2"'), "weight: expected number, got string"],
    ["number in a range", config('"weight":-0.5'), "weight: expected number in [0, 100], got -0.5"],
    ["number above the range", config('"weight":100.5'), "weight: expected number in [0, 100], got 100.5"],
    ["number with a minimum only", config('"limits":{"rps":-1,"burst":1}'), "limits.rps: expected number >= 0, got -1"],
    ["integer type", config('"port":"8080"'), "port: expected integer, got string"],
    ["integer rejects 3.7 (never truncated)", config('"port":3.7'), "port: expected integer in [1, 65535], got 3.7"],
    ["integer below the range", config('"port":0'), "port: expected integer in [1, 65535], got 0"],
    ["integer above the range", config('"port":65536'), "port: expected integer in [1, 65535], got 65536"],
    ["integer far out of range", config('"port":1e20'), "port: expected integer in [1, 65535], got 100000000000000000000"],
    ["integer overflowing f64", config('"port":1e400'), "port: expected integer in [1, 65535], got Infinity"],
    ["unbounded integer rejects 2^53", config("", '[{"method":"m","allow":true,"principals":[],"priority":9007199254740992}]'), "rules[0].priority: expected integer, got 9007199254740992"],
    ["unbounded integer rejects 1e300", config("", '[{"method":"m","allow":true,"principals":[],"priority":1e300}]'), "rules[0].priority: expected integer, got 1e+300"],
    ["unbounded integer rejects -0.25", config("", '[{"method":"m","allow":true,"principals":[],"priority":-0.25}]'), "rules[0].priority: expected integer, got -0.25"],
    ["enum of another type", config('"mode":1'), 'mode: expected one of "ALLOW", "DENY", "AUDIT", got number'],
    ["enum value not allowed (case matters)", config('"mode":"deny"'), 'mode: expected one of "ALLOW", "DENY", "AUDIT"'],
    ["array of strings", config('"hosts":"a"'), "hosts: expected array of strings, got string"],
    ["array of strings, one element", config('"hosts":["a",{},"b"]'), "hosts[1]: expected string, got object"],
    ["object", config('"limits":[]'), "limits: expected object, got array"],
    ["array", config("", "{}"), "rules: expected array, got object"],
    ["array element object", config("", '[{"method":"m","allow":true,"principals":[]},"r"]'), "rules[1]: expected object, got string"],
    ["required and null", '{"name":null,"rules":[]}', "name: expected string, got null"],
    ["required and absent", '{"rules":[]}', "name: missing, expected string"],
    ["required nested and absent", config('"limits":{"rps":1}'), "limits.burst: missing, expected integer"],
    ["required enum absent", config("", '[{"method":"m","allow":true,"principals":[],"identities":{"jwt":{"issuer":"i","keys":[{}]}}}]'),
      'rules[0].identities.jwt.keys[0].alg: missing, expected one of "HS256", "EdDSA"'],
    ["unknown field at the root", config('"extra":1'), "extra: unknown field (known: name, enabled, weight, port, mode, hosts, limits, rules, labels)"],
    ["unknown field nested", config('"limits":{"rps":1,"burst":1,"rate":2}'), "limits.rate: unknown field (known: rps, burst)"],
    ["unknown field in an array element", config("", '[{"method":"m","allow":true,"principals":[],"Method":"x"}]'),
      "rules[0].Method: unknown field (known: method, allow, principals, priority, identities)"],
    ["unknown field with a quoted key", config('"a.b c":1'), '["a.b c"]: unknown field (known: name, enabled, weight, port, mode, hosts, limits, rules, labels)'],
    ["custom check through fail()", config('"labels":{"team":"abcdefghijklmnopq"}'), "labels.team: longer than 16 characters"],
    ["quoted key in a nested path", config('"labels":{"x.y":3}'), 'labels["x.y"]: expected string, got number'],
    ["key with a control character", config('"labels":{"a\\nb":false}'), 'labels["a\\u000ab"]: expected string, got boolean'],
  ];
  for (const [name, json, message] of cases) {
    it(`${name}: ${message}`, () => {
      expect(JSON.parse(json)).toBeTypeOf("object");
      expect(errorsOf(json)).toEqual([message]);
    });
  }

  it("out-of-range numbers are written as JavaScript's String(n) writes them", () => {
    const outside = ["101", "1e20", "1e21", "123456789.125", "-1.5e-7", "-1e-7", "-5e-324", "-2.5e-308", "1.7976931348623157e308",
      "1e400", "-1e400", "9007199254740993", "-0.1"];
    for (const n of outside) {
      const value = JSON.parse(n) as number;
      expect(value < 0 || value > 100, n).toBe(true);
      expect(errorsOf(config(`"weight":${n}`))).toEqual([`weight: expected number in [0, 100], got ${String(value)}`]);
    }
  });

  it("the digits always read back as the same double, though not always JavaScript's shortest ones (Grisu2)", () => {
    const value = JSON.parse("100.00000000000001") as number; // 100 + 2^-46
    expect(String(value)).toBe("100.00000000000001");
    expect(errorsOf(config('"weight":100.00000000000001'))).toEqual(["weight: expected number in [0, 100], got 100.00000000000002"]);
    expect(Number("100.00000000000002")).toBe(value);
  });
});

describe("ConfigReader: nested paths", () => {
  const rule = (identities: string) => `[{"method":"a","allow":true,"principals":[]},{"method":"b","allow":false,"principals":["p"]},` +
    `{"method":"c","allow":true,"principals":[],"identities":${identities}}]`;

  it("rules[2].identities.jwt.issuer: expected string, got number", () => {
    expect(errorsOf(config("", rule('{"jwt":{"issuer":42}}')))).toEqual(["rules[2].identities.jwt.issuer: expected string, got number"]);
  });

  it("three levels down, into arrays of strings and arrays of objects", () => {
    expect(errorsOf(config("", rule('{"jwt":{"issuer":"i","audiences":["a",7,"c",null],"keys":[{"alg":"HS256"},{"alg":"RS256"},[]]}}')))).toEqual([
      "rules[2].identities.jwt.audiences[1]: expected string, got number",
      "rules[2].identities.jwt.audiences[3]: expected string, got null",
      'rules[2].identities.jwt.keys[1].alg: expected one of "HS256", "EdDSA"',
      "rules[2].identities.jwt.keys[2]: expected object, got array",
    ]);
  });

  it("missing and mistyped objects on the way down", () => {
    expect(errorsOf(config("", rule('{"jwt":{}}')))).toEqual(["rules[2].identities.jwt.issuer: missing, expected string"]);
    expect(errorsOf(config("", rule('{"jwt":"token"}')))).toEqual(["rules[2].identities.jwt: expected object, got string"]);
    expect(errorsOf(config("", rule("[]")))).toEqual(["rules[2].identities: expected object, got array"]);
    expect(errorsOf(config("", rule('{"jwt":{"issuer":"i"},"mtls":{}}')))).toEqual(["rules[2].identities.mtls: unknown field (known: jwt)"]);
    expect(errorsOf(config("", rule('{"jwt":{"issuer":"i","keys":[{"alg":"EdDSA","kid":"k"}]}}'))))
      .toEqual(["rules[2].identities.jwt.keys[0].kid: unknown field (known: alg)"]);
  });
});

describe("ConfigReader: every error, in order, up to the cap", () => {
  /** 20 errors: 6 at the root, then 2 per rule for 7 rules. */
  const many = JSON.stringify({
    name: 1, enabled: "x", weight: -1, port: 0.5, mode: 9, hosts: 3,
    rules: Array.from({ length: 7 }, (_, i) => ({ method: i, allow: null, principals: [] })),
  });
  const all = [
    "name: expected string, got number", "enabled: expected boolean, got string", "weight: expected number in [0, 100], got -1",
    "port: expected integer in [1, 65535], got 0.5", 'mode: expected one of "ALLOW", "DENY", "AUDIT", got number',
    "hosts: expected array of strings, got number",
    ...Array.from({ length: 7 }, (_, i) => [`rules[${i}].method: expected string, got number`, `rules[${i}].allow: expected boolean, got null`]).flat(),
  ];

  it("the default cap (16) keeps the first 16 and counts all 20", () => {
    expect(read(many)).toEqual({ ok: false, count: 20, errors: all.slice(0, 16), summary: `${all[0]} (and 19 more errors)` });
  });
  it("a cap above the count keeps all of them", () => {
    expect(read(many, 100)).toMatchObject({ count: 20, errors: all });
  });
  it("maxErrors 1 keeps only the first; the summary still counts the rest", () => {
    expect(read(many, 1)).toEqual({ ok: false, count: 20, errors: [all[0]], summary: `${all[0]} (and 19 more errors)` });
  });
  it("maxErrors 2 keeps two", () => {
    expect(read(many, 2)).toMatchObject({ count: 20, errors: all.slice(0, 2) });
  });
  it("singular and plural in the summary", () => {
    expect(read('{"rules":[],"name":1,"port":0}')).toMatchObject({ count: 2, summary: "name: expected string, got number (and 1 more error)" });
    expect(read('{"rules":[],"name":1}')).toMatchObject({ count: 1, summary: "name: expected string, got number" });
  });
  it("an optional field in error falls back to its default and reading goes on", () => {
    expect(read(config('"port":"80","mode":"X","enabled":0'), 16)).toMatchObject({
      ok: false, count: 3, errors: ["enabled: expected boolean, got number", "port: expected integer, got string", 'mode: expected one of "ALLOW", "DENY", "AUDIT"'],
    });
  });
});

describe("ConfigReader: string values are never echoed (a configuration may hold secrets)", () => {
  const SECRET = "hunter2-s3cr3t";
  const inputs = [
    config(`"port":"${SECRET}"`), config(`"weight":"${SECRET}"`), config(`"mode":"${SECRET}"`), config(`"enabled":"${SECRET}"`),
    config(`"limits":"${SECRET}"`), config(`"labels":{"k":"${SECRET}${SECRET}"}`), config("", `"${SECRET}"`),
    `{"name":"${SECRET}","rules":[1]}`, `{"name":"${SECRET}\\q"}`, `{"name":"${SECRET}`, `{"name":"${SECRET}\u0001"}`, `["${SECRET}"]`,
  ];
  for (const json of inputs) {
    it(json.replace(SECRET, "<secret>"), () => {
      const r = read(json, 16);
      expect(r.ok).toBe(false);
      if (r.ok) return;
      expect(r.errors.length).toBeGreaterThan(0);
      for (const line of [...r.errors, r.summary]) expect(line).not.toContain("hunter2");
    });
  }
});

describe("ConfigReader: readText and readBytes agree", () => {
  it("on valid, invalid and mistyped configurations", () => {
    for (const json of [
      config(), config('"port":3.7,"labels":{"é":1}'), "{\"name\":\"x\",\n\"rules\":[{}]}", "[", "{\"a\":1}x", "  ", "\"é\"",
    ]) {
      expect(read(json, 16, "text"), json).toEqual(read(json, 16, "bytes"));
    }
  });
});
