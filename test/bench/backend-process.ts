/**
 * A demo gRPC backend in its own process, for benchmarks: prints "port <n>" once listening and
 * runs until stdin closes or SIGTERM.
 */
import { startDemoBackend } from "../../manager/src/demo/services/index.ts";

const backend = await startDemoBackend({ name: "bench-backend" });
process.stdout.write(`port ${backend.port}\n`);
const stop = async () => {
  await backend.stop();
  process.exit(0);
};
process.on("SIGTERM", () => void stop());
process.stdin.on("end", () => void stop());
process.stdin.resume();
