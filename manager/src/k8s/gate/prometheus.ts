/**
 * A minimal Prometheus HTTP API client for the health gate: instant queries at a given time
 * (`/api/v1/query`). A query Prometheus refuses, an unreachable server or a timeout is a
 * one-line UserError naming the server (and the query, for PromQL errors).
 */
import { UserError } from "../../errors.ts";

export interface PromSample {
  metric: Record<string, string>;
  value: number;
}

export class PrometheusClient {
  constructor(readonly url: string, private readonly timeoutMs = 15_000) {}

  /** Instant query; a vector's samples (a scalar as one sample with no labels). */
  async query(expr: string, time?: Date): Promise<PromSample[]> {
    const params = new URLSearchParams({ query: expr });
    if (time) params.set("time", (time.getTime() / 1000).toFixed(3));
    let res: Response;
    try {
      res = await fetch(`${this.url}/api/v1/query?${params}`, { signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (e) {
      const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).name;
      throw new UserError(`Prometheus ${this.url} is unreachable: ${cause}`, { cause: e });
    }
    const text = await res.text();
    let body: { status?: string; data?: { resultType: string; result: unknown }; errorType?: string; error?: string };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw new UserError(`Prometheus ${this.url} answered HTTP ${res.status} with something that is not its API's JSON`);
    }
    if (body.status !== "success" || !body.data) throw new UserError(`Prometheus ${this.url} refused the query (${body.errorType ?? res.status}: ${body.error ?? "unknown error"}): ${expr}`);
    const { resultType, result } = body.data;
    if (resultType === "scalar") return [{ metric: {}, value: Number((result as [number, string])[1]) }];
    if (resultType !== "vector") throw new UserError(`Prometheus ${this.url}: expected a vector from ${expr}, got a ${resultType}`);
    return (result as Array<{ metric: Record<string, string>; value: [number, string] }>).map((s) => ({ metric: s.metric, value: Number(s.value[1]) }));
  }

  /** The single value of a query (sum(...)), 0 when it has no samples. */
  async value(expr: string, time?: Date): Promise<number> {
    const samples = await this.query(expr, time);
    return samples.length === 0 ? 0 : samples[0]!.value;
  }
}
