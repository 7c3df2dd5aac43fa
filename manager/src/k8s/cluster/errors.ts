/**
 * API server failures as one-line UserErrors that say what was being done, against which server
 * and context, and what to do: unreachable (connection refused, reset, DNS, timeout), TLS
 * failures, 401 (credentials expired or invalid), 403 (the server's RBAC message), 404, 409 (for
 * server-side apply: the other field manager and the fields it owns, and --force-conflicts), 422
 * (the server's validation message, which includes the CRD's CEL messages). Only the server's
 * `Status.message` is quoted: never headers or credentials.
 */
import { ApiException } from "@kubernetes/client-node";
import { UserError } from "../../errors.ts";

export interface ServerRef {
  server: string;
  context: string;
}

/** A failure the API server answered (status code and its message). */
export class ApiCallError extends UserError {
  constructor(message: string, readonly status: number, readonly serverMessage: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The API server could not be reached at all. */
export class ApiUnreachableError extends UserError {}

const NETWORK_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "EPIPE", "UND_ERR_SOCKET", "ECONNABORTED"]);

export function serverMessage(e: ApiException<unknown>): string {
  const body = e.body;
  let parsed: unknown = body;
  if (typeof body === "string") {
    try {
      parsed = JSON.parse(body);
    } catch {
      parsed = { message: body };
    }
  }
  const message = (parsed as { message?: unknown } | null)?.message;
  return typeof message === "string" && message ? message.replace(/\s*\n\s*/g, " ") : `HTTP ${e.code}`;
}

/** The other managers and fields of an SSA conflict message ("conflict with \"x\" using v1: .spec.a"). */
export function parseConflicts(message: string): Array<{ manager: string; field: string }> {
  const out: Array<{ manager: string; field: string }> = [];
  // One conflict: `conflict with "m" using v1: .spec.a`; several: `conflicts with "m": - .spec.a - .spec.b`.
  for (const m of message.matchAll(/conflicts? with "([^"]+)"(?: using [^:]+)?:((?:\s*-?\s*\.[^\s,]+)+)/g)) {
    for (const f of m[2]!.matchAll(/\.[^\s,]+/g)) out.push({ manager: m[1]!, field: f[0] });
  }
  return out;
}

function errorCode(e: unknown): string | undefined {
  const err = e as { code?: unknown; cause?: { code?: unknown }; errno?: unknown };
  if (typeof err?.code === "string") return err.code;
  if (typeof err?.cause?.code === "string") return err.cause.code;
  return undefined;
}

/** Maps any failure of an API call to a one-line UserError. `action`: "applying WasmPlugin payments/grpc-auth". */
export function describeApiFailure(e: unknown, action: string, where: ServerRef): UserError {
  if (e instanceof UserError) return e;
  if (e instanceof ApiException) {
    const msg = serverMessage(e);
    switch (e.code) {
      case 401:
        return new ApiCallError(`the API server ${where.server} refused the credentials of context "${where.context}" (401 Unauthorized: expired or invalid) while ${action}`, 401, msg, { cause: e });
      case 403:
        return new ApiCallError(`forbidden while ${action} (context "${where.context}"): ${msg}`, 403, msg, { cause: e });
      case 409: {
        const conflicts = parseConflicts(msg);
        if (conflicts.length) {
          const managers = [...new Set(conflicts.map((c) => c.manager))];
          const fields = conflicts.map((c) => c.field).join(", ");
          return new ApiCallError(`conflict while ${action}: field manager ${managers.map((m) => `"${m}"`).join(", ")} owns ${fields}; re-run with --force-conflicts to take ${conflicts.length === 1 ? "it" : "them"} over`, 409, msg, { cause: e });
        }
        return new ApiCallError(`conflict while ${action}: ${msg}`, 409, msg, { cause: e });
      }
      case 422:
        return new ApiCallError(`the API server rejected the object while ${action}: ${msg}`, 422, msg, { cause: e });
      default:
        return new ApiCallError(`${e.code === 404 ? "not found" : `HTTP ${e.code}`} while ${action}: ${msg}`, e.code, msg, { cause: e });
    }
  }
  const code = errorCode(e);
  const message = (e as Error)?.message ?? String(e);
  if (code && NETWORK_CODES.has(code)) return new ApiUnreachableError(`the API server ${where.server} (context "${where.context}") is unreachable while ${action}: ${code}`, { cause: e });
  if (code && /CERT|TLS|SSL|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code)) return new ApiUnreachableError(`TLS to the API server ${where.server} (context "${where.context}") failed while ${action}: ${code}`, { cause: e });
  if (/ECONNREFUSED|ECONNRESET|socket hang up|ETIMEDOUT|network/i.test(message)) {
    return new ApiUnreachableError(`the API server ${where.server} (context "${where.context}") is unreachable while ${action}: ${message.split("\n")[0]!.replace(/^.*reason: /, "")}`, { cause: e });
  }
  return new UserError(`${action} failed: ${message.split("\n")[0]}`, { cause: e });
}
