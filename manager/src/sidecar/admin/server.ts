/**
 * The sidecar's admin interface: Envoy's admin endpoints over HTTP/1.1 (node:http), with
 * Envoy's paths, query parameters, bodies and status codes (source/server/admin/admin.cc and
 * its handlers):
 * - `/ready`: 200 `LIVE\n`, or 503 `INITIALIZING\n` until ready() is true;
 * - `/stats` (`format=json|prometheus`, `filter=<regex>`, `usedonly`), `/stats/prometheus`;
 * - `/clusters` (`format=json`), `/listeners` (`format=json`), `/config_dump`, `/server_info`;
 * - `/logging` (logging.ts) when a LogRegistry is given;
 * - `/` and `/help`: the list of endpoints (Envoy serves an HTML home page at `/`);
 * - any other path: 404 with `invalid path. admin commands are:` and the list.
 * Read-only endpoints accept GET, HEAD and POST; other methods get 405. Endpoints that change
 * state (`/logging`) accept only POST: 405 `Method <m> not allowed, POST required.`, as Envoy's
 * `mutates_server_state` handlers. A bad `filter` is a 400; a failing provider callback is a 500
 * (the server keeps running).
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { StatsStore } from "../stats/types.ts";
import type { ClusterView } from "../proxy/upstream/types.ts";
import type { SocketAddress } from "../http/stream-info.ts";
import type { TagExtractors } from "../stats/tag-extractor.ts";
import { InvalidStatsParams, parseStatsParams } from "../stats/render-support.ts";
import { UserError } from "../../errors.ts";
import { renderStatsJson, renderStatsText } from "../stats/render-text.ts";
import { renderPrometheus } from "../stats/render-prometheus.ts";
import { renderClustersJson, renderClustersText } from "./clusters.ts";
import { buildConfigDump } from "./config-dump.ts";
import { handleLogging } from "./logging.ts";
import type { LogRegistry } from "../host/log.ts";

export interface AdminListener {
  name: string;
  address: SocketAddress;
}

export interface AdminServerOptions {
  address: string;
  port: number;
  stats: StatsStore;
  extractors: TagExtractors;
  clusters: () => ClusterView[];
  configDump: () => unknown;
  ready: () => boolean;
  listeners?: () => AdminListener[];
  /** Optional node identity for /server_info. */
  node?: { id?: string; cluster?: string };
  /** The loggers `/logging` lists and changes (no `/logging` without it). */
  logs?: LogRegistry;
  /** Text appended to /stats/prometheus (istio-agent's metrics, as its merged :15020 endpoint adds them). */
  extraPrometheus?: () => string;
}

export interface AdminServer {
  port: number;
  close(): Promise<void>;
}

interface Reply {
  status: number;
  body: string;
  json?: boolean;
}

type Handler = (query: URLSearchParams) => Reply;

/** Paths whose handlers change state: POST only. */
const MUTATING = new Set(["/logging"]);

const TEXT = "text/plain; charset=UTF-8";
const JSON_TYPE = "application/json";

const ENDPOINTS: Array<[string, string]> = [
  ["/", "Admin home page"],
  ["/clusters", "upstream cluster status"],
  ["/config_dump", "dump current Envoy configs"],
  ["/help", "print out list of admin commands"],
  ["/listeners", "print listener info"],
  ["/logging", "query/change logging levels"],
  ["/ready", "print server state, return 200 if LIVE, otherwise return 503"],
  ["/server_info", "print server version/status information"],
  ["/stats", "print server stats"],
  ["/stats/prometheus", "print server stats in prometheus format"],
];

function helpText(): string {
  return "admin commands are:\n" + ENDPOINTS.map(([p, h]) => `  ${p}: ${h}\n`).join("");
}

function listenerAddressString(a: SocketAddress): string {
  return a.address.includes(":") ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}

function handlers(opts: AdminServerOptions, startedAt: number): Map<string, Handler> {
  const extractors = opts.extractors;
  let dumpTime: string | undefined;
  const prometheus = (q: URLSearchParams): Reply => ({
    status: 200,
    body: renderPrometheus(opts.stats, extractors, parseStatsParams(q)) + (opts.extraPrometheus?.() ?? ""),
  });
  const state = (): string => (opts.ready() ? "LIVE" : "INITIALIZING");
  const h = new Map<string, Handler>();
  h.set("/ready", () => ({ status: opts.ready() ? 200 : 503, body: `${state()}\n` }));
  h.set("/stats", (q) => {
    const format = q.get("format");
    if (format === null || format === "text") return { status: 200, body: renderStatsText(opts.stats, parseStatsParams(q)) };
    if (format === "json") return { status: 200, body: renderStatsJson(opts.stats, parseStatsParams(q)), json: true };
    if (format === "prometheus") return prometheus(q);
    return { status: 400, body: `usage: /stats?format=(text|json|prometheus)\n` };
  });
  h.set("/stats/prometheus", prometheus);
  h.set("/clusters", (q) =>
    q.get("format") === "json"
      ? { status: 200, body: renderClustersJson(opts.clusters()), json: true }
      : { status: 200, body: renderClustersText(opts.clusters()) },
  );
  h.set("/listeners", (q) => {
    const ls = opts.listeners?.() ?? [];
    if (q.get("format") === "json") {
      const listener_statuses = ls.map((l) => ({
        name: l.name,
        local_address: { socket_address: { address: l.address.address, port_value: l.address.port } },
      }));
      return { status: 200, body: JSON.stringify(ls.length ? { listener_statuses } : {}, null, 1), json: true };
    }
    return { status: 200, body: ls.map((l) => `${l.name}::${listenerAddressString(l.address)}\n`).join("") };
  });
  h.set("/config_dump", () => {
    dumpTime ??= new Date().toISOString();
    return { status: 200, body: JSON.stringify(buildConfigDump(opts.configDump(), dumpTime), null, 1), json: true };
  });
  h.set("/server_info", () => {
    const uptime = `${Math.floor((Date.now() - startedAt) / 1000)}s`;
    const info = {
      version: "meshwasm-sidecar",
      state: state(),
      uptime_current_epoch: uptime,
      uptime_all_epochs: uptime,
      ...(opts.node ? { node: opts.node } : {}),
    };
    return { status: 200, body: JSON.stringify(info, null, 1), json: true };
  });
  const logs = opts.logs;
  if (logs) h.set("/logging", (q) => handleLogging(logs, q));
  h.set("/", () => ({ status: 200, body: helpText() }));
  h.set("/help", () => ({ status: 200, body: helpText() }));
  return h;
}

function send(req: IncomingMessage, res: ServerResponse, reply: Reply): void {
  res.writeHead(reply.status, {
    "content-type": reply.json ? JSON_TYPE : TEXT,
    "cache-control": "no-cache, max-age=0",
    "x-content-type-options": "nosniff",
    "content-length": Buffer.byteLength(reply.body),
  });
  res.end(req.method === "HEAD" ? undefined : reply.body);
}

export async function startAdminServer(opts: AdminServerOptions): Promise<AdminServer> {
  const routes = handlers(opts, Date.now());
  const server = createServer((req, res) => {
    req.resume();
    let reply: Reply;
    const url = new URL(req.url ?? "/", "http://admin");
    const handler = routes.get(url.pathname);
    if (!handler) {
      reply = { status: 404, body: `invalid path. ${helpText()}` };
    } else if (MUTATING.has(url.pathname) && req.method !== "POST") {
      reply = { status: 405, body: `Method ${req.method} not allowed, POST required.` };
    } else if (req.method !== "GET" && req.method !== "HEAD" && req.method !== "POST") {
      reply = { status: 405, body: "Method Not Allowed\n" };
    } else {
      try {
        reply = handler(url.searchParams);
      } catch (err) {
        reply =
          err instanceof InvalidStatsParams
            ? { status: 400, body: `${err.message}\n` }
            : { status: 500, body: `${err instanceof Error ? err.message : String(err)}\n` };
      }
    }
    send(req, res, reply);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) =>
      reject(
        err.code === "EADDRINUSE" || err.code === "EADDRNOTAVAIL"
          ? new UserError(`admin: cannot listen on ${opts.address}:${opts.port}: ${err.code}`, { cause: err })
          : err,
      ),
    );
    server.listen(opts.port, opts.address, () => {
      server.removeAllListeners("error");
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
