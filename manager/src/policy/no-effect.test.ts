/**
 * The no-effect analysis held against the matchers and the reference evaluator it reasons about:
 * coverage of method and principal patterns is checked exhaustively over a small universe (covers
 * exactly when every method / URI SAN one matches the other matches too), CIDR coverage and
 * header-condition satisfiability against brute force, and "decided first by" against evaluate():
 * a call to a shadowed method never gets to the shadowed rule.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { evaluate } from "./evaluate.ts";
import type { HeaderCondition, MethodPattern, Policy, PrincipalPattern, Rule } from "./model.ts";
import { cidrCovers, decidedFirstBy, headerConditionsSatisfiable, methodCovers, principalCovers, redundantEntries } from "./no-effect.ts";
import { cidrContains, methodMatches, parseCidr, principalMatches } from "./patterns.ts";

// Two services under every package pattern, so that no service pattern covers a package by accident of the universe.
const SERVICES = ["a.S", "a.T", "a.b.S", "a.b.T", "a.b.c.S", "ab.S", "ab.T", "b.S", "b.T"];
const METHODS = SERVICES.flatMap((service) => ["M", "N"].map((method) => ({ service, method })));
const METHOD_PATTERNS: MethodPattern[] = [
  { kind: "any" },
  ...["a", "a.b", "ab", "b"].map((pkg) => ({ kind: "package" as const, pkg })),
  ...SERVICES.map((service) => ({ kind: "service" as const, service })),
  ...METHODS.map((m) => ({ kind: "exact" as const, ...m })),
];

describe("methodCovers", () => {
  it("holds exactly when every method the inner pattern matches, the outer matches", () => {
    for (const outer of METHOD_PATTERNS) {
      for (const inner of METHOD_PATTERNS) {
        const expected = METHODS.every((m) => !methodMatches(inner, m) || methodMatches(outer, m));
        expect({ outer, inner, covers: methodCovers(outer, inner) }).toEqual({ outer, inner, covers: expected });
      }
    }
  });
});

describe("principalCovers", () => {
  it("holds exactly when every URI SAN the inner pattern matches, the outer matches", () => {
    const parts = (a: string, b: string) => [a, b, "*"];
    const patterns: PrincipalPattern[] = [{ any: true, trustDomain: "*", namespace: "*", serviceAccount: "*" }];
    for (const trustDomain of parts("td1", "td2")) {
      for (const namespace of parts("n1", "n2")) {
        for (const serviceAccount of parts("s1", "s2")) patterns.push({ any: false, trustDomain, namespace, serviceAccount });
      }
    }
    const sans = ["https://example.com/x", "spiffe://td1/other"];
    for (const td of ["td1", "td2", "td3"]) for (const ns of ["n1", "n2", "n3"]) for (const sa of ["s1", "s2", "s3"]) sans.push(`spiffe://${td}/ns/${ns}/sa/${sa}`);
    for (const outer of patterns) {
      for (const inner of patterns) {
        const expected = sans.every((s) => !principalMatches(inner, s) || principalMatches(outer, s));
        expect({ outer, inner, covers: principalCovers(outer, inner) }).toEqual({ outer, inner, covers: expected });
      }
    }
  });
});

describe("cidrCovers", () => {
  const cidr = (text: string) => {
    const c = parseCidr(text);
    if (!c.ok) throw new Error(c.reason);
    return c.value;
  };
  it("knows nesting, equality and families", () => {
    expect(cidrCovers(cidr("10.0.0.0/8"), cidr("10.1.0.0/16"))).toBe(true);
    expect(cidrCovers(cidr("10.1.0.0/16"), cidr("10.0.0.0/8"))).toBe(false);
    expect(cidrCovers(cidr("10.0.0.0/8"), cidr("10.0.0.0/8"))).toBe(true);
    expect(cidrCovers(cidr("0.0.0.0/0"), cidr("::/128"))).toBe(false);
    expect(cidrCovers(cidr("2001:db8::/32"), cidr("2001:db8:1::/48"))).toBe(true);
    expect(cidrCovers(cidr("10.0.0.0/8"), cidr("11.0.0.0/8"))).toBe(false);
  });
  it("is sound and complete on random IPv4 prefixes: covered exactly when both ends of the inner range are in the outer", () => {
    const arb = fc.tuple(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.integer({ min: 0, max: 32 })).map(([bytes, prefix]) => {
      const b = Uint8Array.from(bytes);
      for (let i = prefix; i < 32; i++) b[i >> 3]! &= ~(1 << (7 - (i & 7)));
      return cidr(`${b.join(".")}/${prefix}`);
    });
    fc.assert(
      fc.property(arb, arb, (outer, inner) => {
        const last = Uint8Array.from(inner.bytes);
        for (let i = inner.prefix; i < 32; i++) last[i >> 3]! |= 1 << (7 - (i & 7));
        expect(cidrCovers(outer, inner)).toBe(cidrContains(outer, inner.bytes) && cidrContains(outer, last));
      }),
      { numRuns: 20_000 },
    );
  });
});

describe("redundantEntries", () => {
  it("reports the later of two equal entries and every covered entry, once", () => {
    const covers = (o: string, i: string) => i.startsWith(o);
    expect(redundantEntries(["ab", "a", "ab", "b"], covers)).toEqual([
      { index: 0, by: 1, duplicate: false },
      { index: 2, by: 0, duplicate: true },
    ]);
    expect(redundantEntries(["x", "y", "x"], (o, i) => o === i)).toEqual([{ index: 2, by: 0, duplicate: true }]);
    expect(redundantEntries(["x", "y"], (o, i) => o === i)).toEqual([]);
  });
});

/** A one-rule policy: ALLOW every method when the header conditions hold. */
function headerPolicy(conds: HeaderCondition[]): Policy {
  const rule: Rule = { name: "r", action: "ALLOW", dryRun: false, methods: [{ kind: "any" }], methodTexts: ["*"], headers: conds };
  return { name: "p", denialMessages: "rule", auditLog: "none", stripCredentials: true, filterState: true, maxMethodSeries: 10, credentials: {}, rules: [rule] };
}

describe("headerConditionsSatisfiable", () => {
  const strings = ["", "a", "b", "aa", "ab", "ba", "bb"];
  const cond: fc.Arbitrary<HeaderCondition> = fc.oneof(
    fc.boolean().map((present) => ({ name: "x-h", values: [], prefixes: [], present })),
    fc.uniqueArray(fc.constantFrom(...strings.slice(1)), { minLength: 1, maxLength: 3 }).map((values) => ({ name: "x-h", values, prefixes: [] })),
    fc.uniqueArray(fc.constantFrom(...strings), { minLength: 1, maxLength: 3 }).map((prefixes) => ({ name: "x-h", values: [], prefixes })),
  );

  it("says whether some request (the header absent, or any value) meets every condition, as the reference evaluator decides", () => {
    const seen = { satisfiable: 0, unsatisfiable: 0 };
    fc.assert(
      fc.property(fc.array(cond, { minLength: 1, maxLength: 4 }), (conds) => {
        const policy = headerPolicy(conds);
        // Values of at most two letters of {a, b} (and absence) reach every case: a witness is a listed value or prefix, or "a".
        const requests: Array<Array<[string, string]>> = [[], ...strings.slice(1).map((v): Array<[string, string]> => [["x-h", v]])];
        const someAllowed = requests.some((metadata) => evaluate(policy, { path: "/a.S/M", metadata, nowSeconds: 0 }).allowed);
        expect(headerConditionsSatisfiable(conds)).toBe(someAllowed);
        seen[someAllowed ? "satisfiable" : "unsatisfiable"]++;
      }),
      { numRuns: 5_000 },
    );
    expect(seen.satisfiable).toBeGreaterThan(500);
    expect(seen.unsatisfiable).toBeGreaterThan(500);
  });
});

describe("decidedFirstBy", () => {
  const rule = (i: number): fc.Arbitrary<Rule> =>
    fc.record({
      action: fc.constantFrom("ALLOW", "DENY", "AUDIT") as fc.Arbitrary<Rule["action"]>,
      dryRun: fc.boolean(),
      methods: fc.uniqueArray(fc.constantFrom(...METHOD_PATTERNS), { minLength: 1, maxLength: 3 }),
      conditional: fc.boolean(),
    }).map(({ action, dryRun, methods, conditional }) => ({
      name: `r${i}`,
      action,
      dryRun: action === "AUDIT" ? false : dryRun,
      methods,
      methodTexts: methods.map(() => ""),
      headers: conditional ? [{ name: "x-h", values: ["yes"], prefixes: [] }] : [],
    }));
  const policy = fc.integer({ min: 1, max: 6 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => rule(i))));

  it("names only rules that keep every call to the shadowed method from reaching the rule", () => {
    let shadowed = 0;
    fc.assert(
      fc.property(policy, (rules) => {
        const p: Policy = { ...headerPolicy([]), rules };
        rules.forEach((r, i) => {
          r.methods.forEach((pattern, k) => {
            if (decidedFirstBy(rules, i, k) === undefined) return;
            shadowed++;
            for (const m of METHODS.filter((x) => methodMatches(pattern, x))) {
              for (const metadata of [[], [["x-h", "yes"]]] as Array<Array<[string, string]>>) {
                const e = evaluate(p, { path: `/${m.service}/${m.method}`, metadata, nowSeconds: 0 });
                expect(e.checks.map((c) => c.rule)).not.toContain(r.name);
                expect(e.rule).not.toBe(r.name);
                expect(e.shadow?.rule).not.toBe(r.name);
              }
            }
          });
        });
      }),
      { numRuns: 3_000 },
    );
    expect(shadowed).toBeGreaterThan(100);
  });

  it("leaves AUDIT rules, rules behind a dry-run or conditional rule, and earlier DENY rules alone", () => {
    const r = (name: string, action: Rule["action"], extra: Partial<Rule> = {}): Rule =>
      ({ name, action, dryRun: false, methods: [{ kind: "any" }], methodTexts: ["*"], headers: [], ...extra });
    const cond = { headers: [{ name: "x-h", values: ["yes"], prefixes: [] }] };
    expect(decidedFirstBy([r("d", "DENY"), r("a", "AUDIT")], 1, 0)).toBeUndefined();
    expect(decidedFirstBy([r("d", "DENY", { dryRun: true }), r("x", "DENY")], 1, 0)).toBeUndefined();
    expect(decidedFirstBy([r("d", "DENY", cond), r("x", "DENY")], 1, 0)).toBeUndefined();
    expect(decidedFirstBy([r("x", "DENY"), r("d", "DENY")], 0, 0)).toBeUndefined();
    expect(decidedFirstBy([r("x", "ALLOW"), r("d", "DENY")], 0, 0)).toBe(1);
    expect(decidedFirstBy([r("d", "DENY"), r("x", "DENY")], 1, 0)).toBe(0);
    expect(decidedFirstBy([r("a", "ALLOW"), r("x", "ALLOW")], 1, 0)).toBe(0);
    expect(decidedFirstBy([r("x", "ALLOW"), r("a", "ALLOW")], 0, 0)).toBeUndefined();
  });
});
