/**
 * The end-to-end test's backends in a process of their own: fleet.ts's @grpc/grpc-js servers,
 * forked by remote-fleet.ts and driven over the IPC channel, so that the test process (the
 * client) and the sidecar process do not share an event loop with them. One reply per request,
 * with the request's id:
 *
 *   start    { count, behaviour }  -> { backends: [{ name, port }] }   (names b0, b1, …)
 *   set      { index, behaviour }  -> {}     merge into one backend's behaviour
 *   reset    {}                    -> {}     every backend back to multiplier 1, not failing, serving
 *   snapshot { index }             -> { served, lastMetadata }
 *   stop     {}                    -> {}
 *
 * The process exits when its parent disconnects.
 */
import { startFleet, type Backend } from "./fleet.ts";
import type { FleetReply, FleetRequest } from "./remote-fleet.ts";

let fleet: Backend[] = [];

function backendAt(index: number): Backend {
  const b = fleet[index];
  if (!b) throw new Error(`no backend at index ${index} (fleet of ${fleet.length})`);
  return b;
}

async function handle(req: FleetRequest): Promise<FleetReply> {
  switch (req.op) {
    case "start":
      fleet = await startFleet(req.count, req.behaviour);
      return { id: req.id, ok: true, backends: fleet.map((b) => ({ name: b.name, port: b.port })) };
    case "set": {
      const b = backendAt(req.index);
      b.behaviour = { ...b.behaviour, ...req.behaviour };
      return { id: req.id, ok: true };
    }
    case "reset":
      for (const b of fleet) b.behaviour = { ...b.behaviour, multiplier: 1, failing: false, serving: true };
      return { id: req.id, ok: true };
    case "snapshot": {
      const b = backendAt(req.index);
      return { id: req.id, ok: true, served: { ...b.served }, lastMetadata: b.lastMetadata.map((m) => ({ ...m })) };
    }
    case "stop":
      await Promise.all(fleet.map((b) => b.stop()));
      fleet = [];
      return { id: req.id, ok: true };
  }
}

process.on("message", (req: FleetRequest) => {
  handle(req).then(
    (reply) => process.send!(reply),
    (e: Error) => process.send!({ id: req.id, ok: false, error: e.message } satisfies FleetReply),
  );
});
process.on("disconnect", () => process.exit(0));
