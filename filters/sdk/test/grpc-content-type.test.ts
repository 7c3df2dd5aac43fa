/** isGrpcContentType against Envoy's Grpc::Common::hasGrpcContentType and the sidecar's own reader. */
import { beforeAll, describe, expect, it } from "vitest";
import { compileHarness, loadHarness, type GrpcHarness } from "./grpc-harness.ts";
import { isGrpcContentType } from "../../../manager/src/sidecar/http/grpc.ts";

let h: GrpcHarness;
beforeAll(async () => {
  h = await loadHarness(await compileHarness());
});

describe("isGrpcContentType (Envoy Grpc::Common::hasGrpcContentType)", () => {
  const table: Array<[string, boolean]> = [
    ["application/grpc", true], ["application/grpc+proto", true], ["application/grpc+json", true],
    ["application/grpc;charset=utf-8", true], ["application/grpc-web", false], ["application/grpc-web+proto", false],
    ["application/grpcx", false], ["application/json", false], ["", false], ["Application/grpc", false],
    ["application/grp", false], [" application/grpc", false],
  ];
  for (const [value, want] of table) {
    it(`${JSON.stringify(value)} -> ${want}`, () => {
      const got = h.withBytes(Buffer.from(value), (p, n) => h.exports.grpcContentType!(p, n)) === 1;
      expect({ sdk: got, sidecar: isGrpcContentType(value) }).toEqual({ sdk: want, sidecar: want });
    });
  }
});
