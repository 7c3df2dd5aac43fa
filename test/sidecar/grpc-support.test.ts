import { afterAll, describe, expect, it } from "vitest";
import * as grpc from "@grpc/grpc-js";
import { echoClient, startEchoServer, unary, type EchoServer } from "../support/grpc-echo.ts";

describe("test support: echo server", () => {
  let server: EchoServer;
  afterAll(async () => server?.stop());
  it("answers unary directly and reports failures with metadata", async () => {
    server = await startEchoServer("b1");
    const client = echoClient(server.port);
    const reply = await unary(client, { message: "hi" });
    expect(reply.backend).toBe("b1");
    expect(reply.message).toBe("hi");
    const err = await unary(client, { fail_code: 5, fail_message: "nope" }).catch((e: grpc.ServiceError) => e);
    expect((err as grpc.ServiceError).code).toBe(5);
    expect((err as grpc.ServiceError).details).toBe("nope");
    expect((err as grpc.ServiceError).metadata.get("x-fail")).toEqual(["yes"]);
    client.close();
  });
});
