/** `meshwasm demo` (what `npm start` runs): the demo mesh with readable progress and results. */
import { runDemo } from "../../demo/mesh/run-demo.ts";

export async function runDemoCommand(opts: { rpcs: number }): Promise<void> {
  process.stdout.write("meshwasm demo: a local mesh with the sidecar, a Wasm filter and three gRPC backends\n");
  await runDemo({ rpcs: opts.rpcs, print: (t) => process.stdout.write(`${t}\n`) });
  process.stdout.write("\ndone.\n");
}
