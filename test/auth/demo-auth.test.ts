/**
 * The demo (`npm start`) with grpc-auth: its auth calls through the sidecar are allowed, denied
 * UNAUTHENTICATED (no key; a key nobody issued) and denied PERMISSION_DENIED (the reporting key),
 * the burst is allowed and its ReserveItem calls shadow-denied by the dry-run rule, and the
 * summary the demo prints counts exactly that by rule and code, read from the sidecar's stats.
 * Uses the filters of an earlier `npm run build`.
 */
import { describe, expect, it } from "vitest";
import { runDemo } from "../../manager/src/demo/mesh/run-demo.ts";
import { AUTH_CALLS } from "../../manager/src/demo/auth-scene.ts";

describe("the demo's grpc-auth summary", () => {
  it("counts allowed calls and both kinds of denials by rule and code, from the sidecar", async () => {
    const printed: string[] = [];
    const r = await runDemo({ rpcs: 60, concurrency: 8, listenerPort: 0, adminPort: 0, build: false, prometheus: false, registry: false, print: (t) => printed.push(t) });
    const text = printed.join("\n");
    const auth = r.auth!;
    expect(auth).toBeDefined();

    // The client's view of the auth calls.
    expect(auth.scene.byKind.map((k) => [k.name, k.byStatus])).toEqual([
      ["with the ci-bot key", { OK: 12 }],
      ["without a key", { UNAUTHENTICATED: 6 }],
      ["with the reporting key", { PERMISSION_DENIED: 4 }],
      ["with a key nobody issued", { UNAUTHENTICATED: 2 }],
    ]);
    expect(AUTH_CALLS.reduce((n, k) => n + k.calls, 0)).toBe(24);

    // The filter's view: every call of the burst (and the demo's probe) allowed by the open rule,
    // each ReserveItem shadow-denied by the dry-run rule, the auth calls by their rules.
    const reservations = r.viaSidecar.byMethod["Inventory/ReserveItem"] ?? 0;
    expect(reservations).toBeGreaterThan(0);
    expect(auth.decisions.map((d) => [d.rule, d.decision, d.code, d.count])).toEqual([
      ["demo-services-open", "allowed", "OK", 61],
      ["listing-needs-a-key", "allowed", "OK", 12],
      ["_default", "denied", "Unauthenticated", 6],
      ["no-listing-for-reporting", "denied", "PermissionDenied", 4],
      ["_authn", "denied", "Unauthenticated", 2],
      ["reservations-under-review", "shadow_denied", "PermissionDenied", reservations],
    ]);
    // No call of the burst was denied.
    expect((r.viaSidecar.byStatus.UNAUTHENTICATED ?? 0) + (r.viaSidecar.byStatus.PERMISSION_DENIED ?? 0)).toBe(0);

    expect(text).toContain("What the grpc-auth filter decided");
    expect(text).toMatch(/_default\s+denied\s+Unauthenticated \(16\)\s+6/);
    expect(text).toMatch(/no-listing-for-reporting\s+denied\s+PermissionDenied \(7\)\s+4/);
    expect(text).toContain(`allowed 73, denied 12 (Unauthenticated (16) 8, PermissionDenied (7) 4), shadow-denied ${reservations}`);
  }, 120_000);
});
