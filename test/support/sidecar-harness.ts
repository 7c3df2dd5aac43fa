/**
 * Starts echo backends plus a sidecar in front of them (through a config file on disk, as
 * `meshwasm sidecar -c` would), and tears everything down. `port` is the listener's bound port.
 */
import { startSidecar, type Sidecar, type SidecarOptions } from "../../manager/src/sidecar/proxy/sidecar.ts";
import { startEchoServer, type EchoServer } from "./grpc-echo.ts";
import { envoyConfig, writeEnvoyConfig, type EnvoyConfigOptions, type WrittenConfig } from "./envoy-config.ts";

export interface Harness {
  backends: EchoServer[];
  sidecar: Sidecar;
  port: number;
  config: WrittenConfig;
  stop(): Promise<void>;
  counter(name: string): bigint | undefined;
}

export async function startHarness(
  opts: {
    backends?: number;
    config?: (ports: number[]) => Partial<EnvoyConfigOptions>;
    /** Raw edit of the generated bootstrap object. */
    edit?: (bootstrap: Record<string, unknown>) => void;
    files?: Record<string, Uint8Array | string>;
    sidecar?: SidecarOptions;
  } = {},
): Promise<Harness> {
  const backends: EchoServer[] = [];
  for (let i = 0; i < (opts.backends ?? 1); i++) backends.push(await startEchoServer(`b${i + 1}`));
  const ports = backends.map((b) => b.port);
  const extra = opts.config?.(ports) ?? {};
  const bootstrap = envoyConfig({ clusters: [{ name: "backend", ports }], ...extra });
  opts.edit?.(bootstrap);
  const config = await writeEnvoyConfig(bootstrap, opts.files);
  let sidecar: Sidecar;
  try {
    sidecar = await startSidecar({ configPath: config.path }, opts.sidecar);
  } catch (e) {
    await Promise.all(backends.map((b) => b.stop()));
    await config.cleanup();
    throw e;
  }
  return {
    backends,
    sidecar,
    port: sidecar.listeners[0]!.port,
    config,
    async stop() {
      await sidecar.stop();
      await Promise.all(backends.map((b) => b.stop()));
      await config.cleanup();
    },
    counter(name: string) {
      const s = sidecar.stats.find(name);
      return s && "value" in s ? (s.value() as bigint) : undefined;
    },
  };
}
