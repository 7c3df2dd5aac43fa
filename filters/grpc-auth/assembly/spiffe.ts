/**
 * SPIFFE workload IDs as Istio issues them (SPIFFE ID spec, Istio identity):
 * `spiffe://<trust domain>/ns/<namespace>/sa/<service account>` — exactly these five path parts,
 * none empty. Patterns in the configuration use the same shape with "*" for any one part.
 * Same rules as manager/src/policy/patterns.ts parseSpiffeId (the reference evaluator's).
 */

/** True when `s` has `part` at `at`. */
function hasAt(s: string, at: i32, part: string): bool {
  if (at + part.length > s.length) return false;
  for (let i = 0; i < part.length; i++) if (s.charCodeAt(at + i) != part.charCodeAt(i)) return false;
  return true;
}

/** [trust domain, namespace, service account], or null when `uri` is not of that shape. */
export function spiffeParts(uri: string): StaticArray<string> | null {
  if (!uri.startsWith("spiffe://")) return null;
  const a = uri.indexOf("/", 9);
  if (a <= 9 || !hasAt(uri, a, "/ns/")) return null;
  const b = uri.indexOf("/", a + 4);
  if (b <= a + 4 || !hasAt(uri, b, "/sa/")) return null;
  const c = b + 4;
  if (c >= uri.length || uri.indexOf("/", c) >= 0) return null;
  const out = new StaticArray<string>(3);
  unchecked(out[0] = uri.substring(9, a));
  unchecked(out[1] = uri.substring(a + 4, b));
  unchecked(out[2] = uri.substring(c));
  return out;
}
