/**
 * `meshwasm policy check|test|explain|hash`: grpc-auth policies (manager/src/policy).
 *
 *  - check FILE [--config]        validate (GrpcAuthPolicy YAML or gRFC A43 JSON); --config prints the
 *                                 canonical pluginConfig JSON
 *  - test FILE --cases CASES      run the cases through the real filter (.wasm) in the proxy-wasm host;
 *                                 a result table; exit 1 on any mismatch
 *  - explain FILE --method M ...  which rule decides one request, and why (same .wasm, debug trace)
 *  - hash api-key|password        hash each line of standard input (SHA-256 hex / PBKDF2 PHC string)
 *
 * Implementations are imported inside the actions (light start-up, see build.ts). Bad input is a
 * UserError (one line naming file:line:col and field); the CLI prints it and exits 1.
 */
import type { Command } from "commander";

interface ExplainOptions {
  method: string;
  module?: string;
  header?: string[];
  apiKey?: string;
  user?: string;
  password?: string;
  token?: string;
  peer?: string;
  sourceIp?: string;
  jwtAuthn?: string;
  contentType?: string;
  now?: string;
  json?: boolean;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

async function check(file: string, opts: { config?: boolean }): Promise<void> {
  const { loadPolicyFile, compilePolicy } = await import("../../policy/index.ts");
  const { policy, format } = await loadPolicyFile(file);
  if (opts.config) {
    process.stdout.write(compilePolicy(policy) + "\n");
    return;
  }
  const c = policy.credentials;
  const parts = [`${policy.rules.length} rule${policy.rules.length === 1 ? "" : "s"}`];
  if (c.apiKeys) parts.push(`${c.apiKeys.keys.length} API key(s)`);
  if (c.passwords) parts.push(`${c.passwords.users.length} user(s)`);
  if (c.jwt) parts.push(`${c.jwt.providers.length} JWT provider(s)`);
  process.stdout.write(`${file}: valid ${format} "${policy.name}": ${parts.join(", ")}\n`);
}

/** The filter module: --module FILE, else build/filters/grpc-auth.wasm, else compiled now. */
async function filterWasm(file: string | undefined): Promise<Uint8Array | undefined> {
  if (file === undefined) return undefined;
  const { readFile } = await import("node:fs/promises");
  const { UserError } = await import("../../errors.ts");
  try {
    return new Uint8Array(await readFile(file));
  } catch (e) {
    throw new UserError(`--module ${file}: cannot read the module: ${(await import("../failure.ts")).reasonOf(e)}`);
  }
}

async function test(file: string, opts: { cases: string; module?: string }): Promise<void> {
  const { readFile } = await import("node:fs/promises");
  const { loadPolicyFile } = await import("../../policy/index.ts");
  const { parseCases } = await import("../../policy/cases.ts");
  const { runCases, formatResults } = await import("../../policy/run-cases.ts");
  const { ExitError, UserError } = await import("../../errors.ts");
  const { policy } = await loadPolicyFile(file);
  let text: string;
  try {
    text = await readFile(opts.cases, "utf8");
  } catch (e) {
    throw new UserError(`--cases ${opts.cases}: cannot read the cases: ${(await import("../failure.ts")).reasonOf(e)}`);
  }
  const results = await runCases(policy, parseCases(text, opts.cases, policy), await filterWasm(opts.module));
  process.stdout.write(formatResults(results, opts.cases) + "\n");
  if (results.some((r) => !r.pass)) throw new ExitError(1);
}

async function explainCommand(file: string, opts: ExplainOptions): Promise<void> {
  const { loadPolicyFile } = await import("../../policy/index.ts");
  const { explain } = await import("../../policy/explain.ts");
  const { tokenHeader } = await import("../../policy/cases.ts");
  const { parseIp } = await import("../../policy/patterns.ts");
  const { UserError } = await import("../../errors.ts");
  const { policy } = await loadPolicyFile(file);
  const metadata: Array<[string, string]> = [];
  for (const h of opts.header ?? []) {
    const i = h.indexOf("=");
    if (i <= 0) throw new UserError(`--header ${h.slice(0, 40)}: expected name=value`);
    metadata.push([h.slice(0, i).toLowerCase(), h.slice(i + 1)]);
  }
  const c = policy.credentials;
  if (opts.apiKey !== undefined) metadata.push([c.apiKeys?.header ?? "x-api-key", opts.apiKey]);
  if (opts.user !== undefined) metadata.push([c.passwords?.usernameHeader ?? "username", opts.user]);
  if (opts.password !== undefined) metadata.push([c.passwords?.passwordHeader ?? "password", opts.password]);
  if (opts.token !== undefined) metadata.push(tokenHeader(policy, opts.token));
  const call: import("../../policy/wasm-runner.ts").AuthCall = { path: opts.method, metadata };
  if (opts.peer !== undefined) call.peer = opts.peer;
  if (opts.sourceIp !== undefined) {
    if (!parseIp(opts.sourceIp)) throw new UserError(`--source-ip: expected an IPv4 or IPv6 address`);
    call.source = opts.sourceIp.includes(":") ? `[${opts.sourceIp}]:40000` : `${opts.sourceIp}:40000`;
  }
  if (opts.jwtAuthn !== undefined) {
    let claims: unknown;
    try {
      claims = JSON.parse(opts.jwtAuthn);
    } catch (e) {
      throw new UserError(`--jwt-authn: expected the verified payload as a JSON object: ${(e as Error).message}`);
    }
    if (claims === null || typeof claims !== "object" || Array.isArray(claims)) throw new UserError("--jwt-authn: expected a JSON object");
    call.jwtAuthn = { payload: claims as Record<string, unknown> };
  }
  if (opts.contentType !== undefined) call.contentType = opts.contentType;
  if (opts.now !== undefined) {
    const n = /^\d+(\.\d+)?$/.test(opts.now) ? Number(opts.now) : Date.parse(opts.now) / 1000;
    if (!Number.isFinite(n)) throw new UserError("--now: expected unix seconds or an RFC 3339 time");
    call.nowSeconds = n;
  }
  const e = await explain(policy, call, await filterWasm(opts.module));
  if (opts.json) {
    const { logs: _logs, forwarded: _f, ...outcome } = e.outcome;
    process.stdout.write(JSON.stringify({ ...outcome, trace: e.trace, agrees: e.agrees }, null, 2) + "\n");
  } else {
    process.stdout.write(e.text + "\n");
  }
}

async function hash(kind: string, opts: { iterations?: string }): Promise<void> {
  const { hashApiKey, hashPassword, DEFAULT_ITERATIONS, LIMITS } = await import("../../policy/index.ts");
  const { UserError } = await import("../../errors.ts");
  if (kind !== "api-key" && kind !== "password") throw new UserError(`policy hash: expected api-key or password, got ${kind.slice(0, 40)}`);
  const iterations = opts.iterations === undefined ? DEFAULT_ITERATIONS : Number(opts.iterations);
  if (!Number.isSafeInteger(iterations) || iterations < LIMITS.minIterations || iterations > LIMITS.maxIterations) {
    throw new UserError(`--iterations: expected an integer in [${LIMITS.minIterations}, ${LIMITS.maxIterations}]`);
  }
  if (process.stdin.isTTY) process.stderr.write(`enter one ${kind} per line, then Ctrl-D\n`);
  const lines = (await readStdin()).split(/\r?\n/).filter((l) => l.length > 0);
  if (lines.length === 0) throw new UserError(`policy hash: no ${kind} on standard input`);
  for (const l of lines) process.stdout.write((kind === "api-key" ? hashApiKey(l) : hashPassword(l, iterations)) + "\n");
}

/** Registers `meshwasm policy`. */
export function register(program: Command): void {
  const policy = program.command("policy").description("grpc-auth policies: check, test on the real filter, explain a decision, hash secrets");
  policy
    .command("check")
    .description("validate a policy (GrpcAuthPolicy YAML or gRFC A43 JSON)")
    .argument("<file>", "the policy")
    .option("--config", "print the filter's canonical pluginConfig JSON")
    .action(async (file: string, opts: { config?: boolean }) => check(file, opts));
  policy
    .command("test")
    .description("run test cases through the compiled grpc-auth filter in the proxy-wasm host")
    .argument("<file>", "the policy")
    .requiredOption("--cases <file>", "the cases (YAML)")
    .option("--module <file>", "the filter module (default: build/filters/grpc-auth.wasm, else compiled)")
    .action(async (file: string, opts: { cases: string; module?: string }) => test(file, opts));
  policy
    .command("explain")
    .description("say which rule decides a request and why, running the grpc-auth filter")
    .argument("<file>", "the policy")
    .requiredOption("--method <path>", "the :path, e.g. /pkg.Service/Method")
    .option("--header <name=value>", "a request header (repeatable)", collect)
    .option("--api-key <key>", "an API key, in the policy's API-key header")
    .option("--user <name>", "a username, in the policy's username header")
    .option("--password <password>", "a password, in the policy's password header")
    .option("--token <jwt>", "a JWT, in the policy's JWT header with its prefix")
    .option("--peer <uri>", "the mTLS peer's URI SAN (SPIFFE ID); \"\" for TLS without one")
    .option("--source-ip <ip>", "the caller's IP address")
    .option("--jwt-authn <json>", "claims Envoy's jwt_authn verified (payload_in_metadata: payload)")
    .option("--content-type <type>", "default application/grpc")
    .option("--now <time>", "unix seconds or an RFC 3339 time (default: now)")
    .option("--json", "print the outcome as JSON")
    .option("--module <file>", "the filter module (default: build/filters/grpc-auth.wasm, else compiled)")
    .action(async (file: string, opts: ExplainOptions) => explainCommand(file, opts));
  policy
    .command("hash")
    .description("hash API keys or passwords read from standard input, one per line")
    .argument("<kind>", "api-key (SHA-256, hex) or password (PBKDF2-HMAC-SHA256, PHC string)")
    .option("--iterations <n>", "PBKDF2 iterations for passwords (default 20000)")
    .action(async (kind: string, opts: { iterations?: string }) => hash(kind, opts));
}
