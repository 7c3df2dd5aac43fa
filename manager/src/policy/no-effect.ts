/**
 * What in a policy can have no effect, decided on the model (model.ts) with the evaluation of
 * filters/grpc-auth/README.md ("Evaluation", gRFC A43 order: DENY rules in policy order, then
 * ALLOW rules in policy order, first match decides; AUDIT rules never decide). The readers call
 * these and report each finding at its position, so that nothing a user writes is accepted and
 * silently ignored:
 *
 *  - list entries that repeat or are covered by another entry of the same list (a method pattern
 *    inside a wider one, a principal inside a wildcard, a CIDR inside a shorter prefix, a header
 *    prefix that extends another) — any entry may match, so the covered one never changes a match;
 *  - header conditions of one rule on one header that no request can satisfy together;
 *  - a rule's method that an earlier rule without conditions always decides first.
 *
 * Pure functions; no positions here.
 */
import type { Cidr, HeaderCondition, MethodPattern, PrincipalPattern, Rule } from "./model.ts";
import { cidrContains } from "./patterns.ts";

/** Whether every method `inner` matches is matched by `outer`. */
export function methodCovers(outer: MethodPattern, inner: MethodPattern): boolean {
  switch (outer.kind) {
    case "any":
      return true;
    case "package":
      if (inner.kind === "package") return inner.pkg === outer.pkg || inner.pkg.startsWith(outer.pkg + ".");
      return inner.kind !== "any" && inner.service.startsWith(outer.pkg + ".");
    case "service":
      return (inner.kind === "service" || inner.kind === "exact") && inner.service === outer.service;
    case "exact":
      return inner.kind === "exact" && inner.service === outer.service && inner.method === outer.method;
  }
}

/** Whether every URI SAN `inner` matches is matched by `outer`. */
export function principalCovers(outer: PrincipalPattern, inner: PrincipalPattern): boolean {
  if (outer.any) return true;
  if (inner.any) return false;
  const seg = (o: string, i: string) => o === "*" || o === i;
  return seg(outer.trustDomain, inner.trustDomain) && seg(outer.namespace, inner.namespace) && seg(outer.serviceAccount, inner.serviceAccount);
}

/** Whether every address in `inner` is in `outer` (same family). */
export function cidrCovers(outer: Cidr, inner: Cidr): boolean {
  return outer.bytes.length === inner.bytes.length && outer.prefix <= inner.prefix && cidrContains(outer, inner.bytes);
}

export interface Redundant {
  /** The entry with no effect. */
  index: number;
  /** The entry that makes it redundant. */
  by: number;
  /** true: the same entry twice; false: covered by a wider one. */
  duplicate: boolean;
}

/**
 * Entries of an any-of list that never change whether the list matches: a repeat (the later of
 * two equal entries) or an entry covered by a wider one. Each redundant entry is reported once,
 * against the first entry that makes it so.
 */
export function redundantEntries<T>(items: readonly T[], covers: (outer: T, inner: T) => boolean): Redundant[] {
  const out: Redundant[] = [];
  for (let j = 0; j < items.length; j++) {
    for (let i = 0; i < items.length; i++) {
      if (i === j || !covers(items[i]!, items[j]!)) continue;
      const equal = covers(items[j]!, items[i]!);
      if (equal && i > j) continue; // the later of two equal entries is the redundant one
      out.push({ index: j, by: i, duplicate: equal });
      break;
    }
  }
  return out;
}

/** A prefix covers every prefix that extends it. */
export const prefixCovers = (outer: string, inner: string): boolean => inner.startsWith(outer);
export const sameValue = (a: string, b: string): boolean => a === b;

/**
 * Whether some value of the header satisfies every condition (all on the same header, ANDed as a
 * rule's conditions are). `present: false` excludes every other condition; value sets intersect;
 * prefix sets need one chain of prefixes, one from each set.
 */
export function headerConditionsSatisfiable(conds: readonly HeaderCondition[]): boolean {
  const absent = conds.some((c) => c.present === false);
  const needsValue = conds.some((c) => c.present === true || c.values.length > 0 || c.prefixes.length > 0);
  if (absent) return !needsValue;
  const valueSets = conds.filter((c) => c.present === undefined && c.values.length > 0).map((c) => c.values);
  const prefixSets = conds.filter((c) => c.present === undefined && c.prefixes.length > 0).map((c) => c.prefixes);
  const fitsPrefixes = (v: string) => prefixSets.every((set) => set.some((p) => v.startsWith(p)));
  if (valueSets.length > 0) {
    return valueSets[0]!.some((v) => valueSets.every((set) => set.includes(v)) && fitsPrefixes(v));
  }
  // A value starting with the longest prefix of a chain starts with every shorter one.
  return prefixSets.length <= 1 || prefixSets.flat().some(fitsPrefixes);
}

/** A rule without `from` and `when`: it matches every call to its methods. */
export function unconditional(r: Rule): boolean {
  return !r.principals && !r.jwt && !r.apiKeys && !r.users && !r.sourceIps && r.headers.length === 0;
}

/**
 * The index of a rule that decides every call to `rules[i].methods[k]` before `rules[i]` is
 * evaluated, in the enforced and in the shadow decision alike: an enforced (not dry-run) rule
 * without conditions whose methods cover that pattern, and that is evaluated first — a DENY rule
 * before any ALLOW rule and before later DENY rules, an ALLOW rule before later ALLOW rules.
 * AUDIT rules are always evaluated, so never shadowed.
 */
export function decidedFirstBy(rules: readonly Rule[], i: number, k: number): number | undefined {
  const rule = rules[i]!;
  if (rule.action === "AUDIT") return undefined;
  const method = rule.methods[k]!;
  const index = rules.findIndex((r, j) =>
    j !== i && !r.dryRun && unconditional(r) && r.methods.some((p) => methodCovers(p, method)) &&
    ((r.action === "DENY" && (rule.action === "ALLOW" || j < i)) || (r.action === "ALLOW" && rule.action === "ALLOW" && j < i)));
  return index < 0 ? undefined : index;
}
