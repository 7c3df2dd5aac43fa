import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as grpc from "@grpc/grpc-js";
import { startSidecar, type Sidecar } from "../../manager/src/sidecar/proxy/sidecar.ts";
import { echoClient, startEchoServer, unary, type EchoServer } from "../support/grpc-echo.ts";
import { envoyConfig, writeEnvoyConfig, type WrittenConfig } from "../support/envoy-config.ts";

describe("gRPC unary through the sidecar", () => {
  let backend: EchoServer;
  let sidecar: Sidecar;
  let cfg: WrittenConfig;
  beforeAll(async () => {
    backend = await startEchoServer("b1");
    cfg = await writeEnvoyConfig(envoyConfig({ clusters: [{ name: "backend", ports: [backend.port] }] }));
    sidecar = await startSidecar({ configPath: cfg.path });
  });
  afterAll(async () => {
    await sidecar?.stop();
    await backend?.stop();
    await cfg?.cleanup();
  });

  it("forwards a unary call and returns the reply", async () => {
    const client = echoClient(sidecar.listeners[0]!.port);
    try {
      const reply = await unary(client, { message: "hello" });
      expect(reply.backend).toBe("b1");
      expect(reply.message).toBe("hello");
      expect(reply.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
      expect(reply.headers["x-forwarded-proto"]).toBe("http");
      expect(sidecar.stats.find("http.ingress_http.downstream_rq_2xx")).toBeDefined();
    } finally {
      client.close();
    }
  });
});
void grpc;
