/**
 * Speed and size of the SDK's JSON reader (not a test: run `npx tsx filters/sdk/test/json-bench.ts`).
 *
 * Speed: `benchParse` of the release-built JSON harness parses the same bytes N times inside the
 * guest (no per-call JS overhead) in runs of 64 with a full collection after each run (the minimal
 * runtime collects only when asked), timed in process CPU time (user + system), best of 5 rounds —
 * CPU time is what a loaded, shared machine distorts least. Inputs: a typical 2 KiB auth
 * configuration as Istio delivers it (compact JSON, from the pluginConfig Struct), the same
 * pretty-printed, and a 64 KiB one. Node's JSON.parse (native, in the same process) on the same
 * text is printed as a yardstick for the machine.
 * Size: a tiny filter (root context that reads its configuration bytes in onConfigure and logs
 * their length) in the release build, then the same filter parsing them with parseJsonBytes, then
 * reading them with ConfigReader as filters do; each minus the tiny filter.
 */
import { compileAssemblyScript } from "../../../manager/src/build/index.ts";
import { compileJsonHarness, loadJsonHarness } from "./json-harness.ts";

/** An auth policy of `rules` rules, shaped like grpc-auth's pluginConfig. */
export function sampleConfig(rules: number, indent?: number): string {
  return JSON.stringify({
    name: "payments-authz",
    mode: "DENY",
    log_denials: true,
    deny_status: 7,
    jwt_providers: [{
      issuer: "https://issuer.example.com/realms/mesh", audiences: ["payments", "ledger"],
      keys: [{ kid: "2024-06", alg: "EdDSA", x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo" }],
      claim_to_headers: [{ claim: "sub", header: "x-user" }],
    }],
    rules: Array.from({ length: rules }, (_, i) => ({
      methods: [`/payments.v1.Payments/Method${i}`, `/payments.v1.Payments/Stream${i}`],
      principals: [`spiffe://cluster.local/ns/shop/sa/frontend-${i}`],
      requires: { jwt: { claims: { scope: ["payments.write"] } } },
      priority: i * 10, allow: i % 3 !== 0, ratio: 0.25 + i / 100,
    })),
  }, null, indent);
}

function cpuNs(fn: () => void, ops: number, rounds = 5): number {
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    const start = process.cpuUsage();
    fn();
    const used = process.cpuUsage(start);
    best = Math.min(best, ((used.user + used.system) * 1000) / ops);
  }
  return best;
}

/** Rules that bring the compact sample closest to `bytes`. */
function sizedConfig(bytes: number, indent?: number): string {
  let n = 1;
  while (Buffer.byteLength(sampleConfig(n + 1, indent)) <= bytes) n++;
  return sampleConfig(n, indent);
}

async function speed(): Promise<Array<[string, string]>> {
  const h = await loadJsonHarness(await compileJsonHarness());
  const rows: Array<[string, string]> = [];
  const inputs: Array<[string, string]> = [
    ["typical config, compact", sizedConfig(2048)],
    ["typical config, pretty-printed (indent 2)", sizedConfig(2048, 2)],
    ["large config, compact", sizedConfig(65536)],
  ];
  for (const [label, text] of inputs) {
    const bytes = new Uint8Array(Buffer.from(text));
    const iterations = Math.max(50, Math.round(20_000_000 / bytes.length));
    if (h.benchParse(bytes, 100) !== 100) throw new Error(`${label}: the guest rejects the sample`);
    // The minimal runtime collects only when asked (filters: every 64 callbacks); collecting after
    // each 64 parses keeps the heap small and counts the collector's share of the cost.
    const run = () => {
      for (let done = 0; done < iterations; done += 64) {
        h.benchParse(bytes, Math.min(64, iterations - done));
        h.exports.collect!();
      }
    };
    const ns = cpuNs(run, iterations);
    const node = cpuNs(() => { for (let i = 0; i < iterations; i++) JSON.parse(text); }, iterations);
    const mbs = (ns: number) => (bytes.length / ns * 1000).toFixed(0); // bytes per ns * 1000 = MB/s
    rows.push([`${label}, ${bytes.length} B`, `${(ns / 1000).toFixed(1)} µs/parse, ${mbs(ns)} MB/s   (Node JSON.parse: ${(node / 1000).toFixed(1)} µs, ${mbs(node)} MB/s)`]);
  }
  return rows;
}

const FILTER_HEAD = `import { RootContext, registerRootContext } from "./context";
import { BufferType } from "./abi/imports";
import { getBufferBytes, logError, logInfo } from "./hostcalls";
import { ConfigReader, parseJsonBytes } from "./json";
export * from "./abi/exports";
`;
const root = (body: string) => `${FILTER_HEAD}
class Root extends RootContext {
  onConfigure(size: u32): bool {
    const bytes = getBufferBytes(BufferType.PluginConfiguration, 0, size);
    if (bytes === null) return false;
${body}
  }
}
registerRootContext((id: u32): RootContext => new Root(id));
`;

const SIZE_ENTRIES: Record<string, string> = {
  baseline: root(`    logInfo(bytes.byteLength.toString());
    return true;`),
  "parseJsonBytes (parser, number conversion, value model, paths)": root(`    const r = parseJsonBytes(bytes);
    if (r.value === null) { logError(r.error); return false; }
    logInfo(bytes.byteLength.toString());
    return true;`),
  "ConfigReader as a filter uses it (incl. the parser)": root(`    const reader = new ConfigReader();
    const config = reader.readBytes(bytes);
    if (config !== null) {
      config.unknownFields(["name", "mode", "port", "hosts", "ratio", "rules"]);
      logInfo(config.optionalString("name", "x") + config.optionalEnum("mode", ["ALLOW", "DENY"], 0).toString() +
        config.optionalInteger("port", 80, 1, 65535).toString() + config.optionalStringArray("hosts").join(",") +
        config.optionalF64("ratio", 0.5, 0, 1).toString() + (config.optionalBool("on", true) ? "1" : "0"));
      const rules = config.optionalArray("rules");
      for (let i = 0; rules !== null && i < rules.length; i++) {
        const rule = rules.object(i);
        if (rule !== null) logInfo(rule.requiredString("method"));
      }
    }
    if (!reader.ok()) { logError(reader.summary()); return false; }
    return true;`),
};

async function sizes(): Promise<Array<[string, string]>> {
  const bytes: Record<string, number> = {};
  for (const [name, source] of Object.entries(SIZE_ENTRIES)) {
    const path = `filters/sdk/json-size-probe-${Object.keys(bytes).length}.ts`;
    bytes[name] = (await compileAssemblyScript(path, { sources: { [path]: source } })).length;
  }
  return Object.entries(bytes).map(([n, b]) => [n, n === "baseline" ? `module ${b} B` : `+${b - bytes.baseline!} B (module ${b} B)`]);
}

const table = (title: string, rows: Array<[string, string]>) => {
  console.log(`\n${title}`);
  for (const [k, v] of rows) console.log(`  ${k.padEnd(64)} ${v}`);
};
table("parse speed (CPU time per parse, best of 5 rounds)", await speed());
if (!process.argv.includes("--speed-only")) table("size (release build; the baseline is a tiny filter that reads its configuration bytes)", await sizes());
