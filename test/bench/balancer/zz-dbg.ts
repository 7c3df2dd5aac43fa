import { BackendProcess } from "./backends.ts";
import { startBenchSidecar } from "./sidecar.ts";
import { runOpenLoop } from "./load.ts";
import { scenarios } from "./scenarios.ts";
import { deployedFilterConfig } from "./sidecar.ts";
const s = scenarios({ quick: false })[0]!;
const { process: bp, ports } = await BackendProcess.start(s.backends);
await bp.request({ op: "begin", lanes: 1, perLane: 1000 });
const sc = await startBenchSidecar({ policies: ["BALANCER_SESSION"], backendPorts: ports, filter: await deployedFilterConfig() });
const dump = async () => {
  const t = await (await fetch(`http://127.0.0.1:${sc.adminPort}/stats/prometheus`)).text();
  console.log(t.split("\n").filter((l) => l.startsWith("grpc_balancer") && !l.startsWith("#")).join("\n"));
};
const r = runOpenLoop({ ports: sc.ports, schedule: { ratePerSec: 100, lanes: 1, count: 1000 }, deadlineMs: 2000, methodOf: () => "Light",
  actions: [{ atMs: 4000, run: () => bp.change({ atS: 0, backend: "b9", set: { multiplier: 10 } }) }, { atMs: 3900, run: dump }, { atMs: 7000, run: dump }], drainMs: 3000 });
await r;
await dump();
await sc.stop(); await bp.stop();
process.exit(0);
