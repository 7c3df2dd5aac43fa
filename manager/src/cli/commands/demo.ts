/** `meshwasm demo` (what `npm start` runs): the demo mesh with readable progress and results. */
import type { Command } from "commander";
import { UserError } from "../../errors.ts";

export async function runDemoCommand(opts: { rpcs: number }): Promise<void> {
  process.stdout.write("meshwasm demo: a local mesh: three gRPC backends behind the sidecar running grpc-auth, grpc-metrics, grpc-balancer and add-header from WasmPlugin resources\n");
  const { runDemo } = await import("../../demo/mesh/run-demo.ts");
  await runDemo({ rpcs: opts.rpcs, print: (t) => process.stdout.write(`${t}\n`) });
  process.stdout.write("\ndone.\n");
}

/** Registers `meshwasm demo`. */
export function register(program: Command): void {
  program
    .command("demo")
    .description("run the demo mesh: sidecar, filters, three demo gRPC services, a burst of traffic")
    .option("--rpcs <n>", "number of RPCs in the burst", "600")
    .action(async (opts: { rpcs: string }) => {
      if (!/^\d+$/.test(opts.rpcs)) throw new UserError(`--rpcs: expected a whole number of RPCs, got ${JSON.stringify(opts.rpcs.slice(0, 40))}`);
      await runDemoCommand({ rpcs: Number(opts.rpcs) });
    });
}
