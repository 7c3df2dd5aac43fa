/**
 * The admin `/logging` endpoint, as Envoy's LogsHandler::handlerLogging
 * (source/server/admin/logs_handler.cc). The endpoint mutates state, so the server accepts only
 * POST for it (admin.cc: any other method is 405 "Method GET not allowed, POST required.").
 *
 * - no query: 200 and the list of loggers, `active loggers:\n  <name>: <level>\n…\n`;
 * - `?level=<level>`: every logger to that level;
 * - `?<logger>=<level>`: one logger;
 * - `?paths=<logger>:<level>,<logger>:<level>`: several (blank items skipped);
 * - more than one parameter, an unknown level (levels are spdlog's names: trace, debug, info,
 *   warning, error, critical, off), an unknown logger or an empty name or level: 400 with
 *   `error: <reason>`, the usage lines and the list; nothing is changed.
 * Changes are logged on the `admin` logger at info, as Envoy does.
 */
import { LEVEL_NAMES, type LogRegistry } from "../host/log.ts";

export interface LoggingReply {
  status: number;
  body: string;
}

const INFO = 2;

class InvalidArgument extends Error {}

function parseLevel(name: string): number {
  const level = (LEVEL_NAMES as readonly string[]).indexOf(name);
  if (level < 0) throw new InvalidArgument("unknown logger level");
  return level;
}

function listing(logs: LogRegistry): string {
  return `active loggers:\n${logs.list().map((l) => `  ${l.logger}: ${l.level}\n`).join("")}\n`;
}

function usage(reason: string): string {
  return (
    `error: ${reason}\n\n` +
    "usage: /logging?<name>=<level> (change single level)\n" +
    "usage: /logging?paths=name1:level1,name2:level2,... (change multiple levels)\n" +
    "usage: /logging?level=<level> (change all levels)\n" +
    `levels: ${LEVEL_NAMES.map((l) => `${l} `).join("")}\n`
  );
}

/** Envoy's QueryParams: a map in which the first occurrence of a key wins. */
function queryParams(query: URLSearchParams): Map<string, string> {
  const params = new Map<string, string>();
  for (const [k, v] of query) if (!params.has(k)) params.set(k, v);
  return params;
}

function changeLogLevel(logs: LogRegistry, params: Map<string, string>): void {
  if (params.size !== 1) throw new InvalidArgument("invalid number of parameters");
  const [key, value] = [...params][0]!;
  if (key === "level") {
    const level = parseLevel(value);
    logs.log("admin", INFO, `change all log levels: level='${LEVEL_NAMES[level]}'`);
    logs.setAll(level);
    return;
  }
  const changes = new Map<string, number>();
  if (key === "paths") {
    for (const item of value.split(",")) {
      if (item.trim() === "") continue;
      const colon = item.indexOf(":");
      const name = colon < 0 ? item : item.slice(0, colon);
      const level = colon < 0 ? "" : item.slice(colon + 1);
      if (name.trim() === "" || level.trim() === "") throw new InvalidArgument("empty logger name or empty logger level");
      changes.set(name, parseLevel(level));
    }
  } else {
    changes.set(key, parseLevel(value));
  }
  for (const name of changes.keys()) if (!logs.has(name)) throw new InvalidArgument("unknown logger name");
  for (const [name, level] of changes) {
    logs.log("admin", INFO, `change log level: name='${name}' level='${LEVEL_NAMES[level]}'`);
    logs.setLevel(name, level);
  }
}

/** Handles one POST /logging with its query. */
export function handleLogging(logs: LogRegistry, query: URLSearchParams): LoggingReply {
  const params = queryParams(query);
  let prefix = "";
  let status = 200;
  if (params.size > 0) {
    try {
      changeLogLevel(logs, params);
    } catch (err) {
      if (!(err instanceof InvalidArgument)) throw err;
      status = 400;
      prefix = usage(err.message);
    }
  }
  return { status, body: prefix + listing(logs) };
}
