/**
 * The demo's auth calls (npm start): Inventory/ListItems through the sidecar with the credentials
 * of demo-auth-policy.yaml — the ci-bot key (allowed by listing-needs-a-key), no key (denied 16 by
 * _default), the reporting key (denied 7 by no-listing-for-reporting) and a key nobody issued
 * (denied 16 by _authn) — and what the client saw, by gRPC status name; then what the filter
 * itself counted, read from the sidecar's stats (auth-report.ts).
 */
import * as grpc from "@grpc/grpc-js";
import { createDemoClients } from "./services/index.ts";
import { statusName } from "./traffic.ts";
import { parsePrometheusText } from "./metrics-report.ts";
import { authDecisions, formatAuthDecisions, type AuthDecisionRow } from "./auth-report.ts";

/** The demo policy's API keys (their SHA-256 hashes are in demo-auth-policy.yaml). */
export const DEMO_API_KEYS = { ciBot: "demo-ci-key-7f3a91c2", reporting: "demo-reporting-key-55b0e1" } as const;

export interface AuthCallKind {
  name: string;
  key?: string;
  calls: number;
}

export const AUTH_CALLS: AuthCallKind[] = [
  { name: "with the ci-bot key", key: DEMO_API_KEYS.ciBot, calls: 12 },
  { name: "without a key", calls: 6 },
  { name: "with the reporting key", key: DEMO_API_KEYS.reporting, calls: 4 },
  { name: "with a key nobody issued", key: "demo-unknown-key-000000", calls: 2 },
];

export interface AuthSceneResult {
  /** Per kind (AUTH_CALLS order): calls by status name as the client saw them. */
  byKind: Array<{ name: string; byStatus: Record<string, number> }>;
  /** All calls by status name. */
  byStatus: Record<string, number>;
}

/** Sends AUTH_CALLS over one connection to `target` (the sidecar's listener). */
export async function runAuthScene(target: string): Promise<AuthSceneResult> {
  const clients = createDemoClients(target);
  const byStatus: Record<string, number> = {};
  const byKind: AuthSceneResult["byKind"] = [];
  try {
    for (const kind of AUTH_CALLS) {
      const seen: Record<string, number> = {};
      for (let i = 0; i < kind.calls; i++) {
        const code = await clients.listItems({ limit: 2 }, { deadlineMs: 5000, ...(kind.key ? { metadata: { "x-api-key": kind.key } } : {}) }).then(
          () => grpc.status.OK,
          (e: grpc.ServiceError) => e.code,
        );
        const name = statusName(code);
        seen[name] = (seen[name] ?? 0) + 1;
        byStatus[name] = (byStatus[name] ?? 0) + 1;
      }
      byKind.push({ name: kind.name, byStatus: seen });
    }
  } finally {
    clients.close();
  }
  return { byKind, byStatus };
}

/** "12 with the ci-bot key: OK 12" lines. */
export function formatAuthScene(r: AuthSceneResult): string {
  return r.byKind
    .map((k) => {
      const n = Object.values(k.byStatus).reduce((a, b) => a + b, 0);
      const codes = Object.entries(k.byStatus).map(([s, c]) => `${s} ${c}`).join(", ");
      return `${String(n).padStart(3)} ListItems ${k.name}: ${codes}`;
    })
    .join("\n");
}

export interface DemoAuth {
  scene: AuthSceneResult;
  /** Every decision the filter counted (the burst's and the scene's), from the sidecar's stats. */
  decisions: AuthDecisionRow[];
  text: string;
}

/**
 * Runs the auth calls, then reads the filter's decisions from the sidecar's admin
 * `/stats/prometheus` (the counters Prometheus would scrape) and formats both.
 */
export async function runDemoAuth(target: string, adminPort: number): Promise<DemoAuth> {
  const scene = await runAuthScene(target);
  const text = await (await fetch(`http://127.0.0.1:${adminPort}/stats/prometheus`)).text();
  const decisions = authDecisions(parsePrometheusText(text));
  return {
    scene,
    decisions,
    text: [
      "the client's view of the auth calls:",
      formatAuthScene(scene),
      "",
      "the filter's decisions, by rule and code (the sidecar's grpc_auth_decisions_total, the burst included):",
      formatAuthDecisions(decisions),
    ].join("\n"),
  };
}
