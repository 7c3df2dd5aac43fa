/** grpcStatusOf reads grpc-status as Envoy's Grpc::Common::getGrpcStatus does (retries, outlier detection). */
import { describe, expect, it } from "vitest";
import { HeaderMap } from "../../http/header-map.ts";
import { grpcStatusOf } from "./grpc.ts";

function of(value: string | undefined): number | undefined {
  const h = new HeaderMap();
  if (value !== undefined) h.add("grpc-status", value);
  return grpcStatusOf(h);
}

describe("grpcStatusOf", () => {
  it.each([
    ["14", 14], ["014", 14], [" +7 ", 7], ["0", 0], ["16", 16],
  ] as const)("%j is %d", (value, code) => expect(of(value)).toBe(code));
  it.each(["", "17", "-1", "7a", "0x7", "1 4"])("%j reads as absent", (value) => expect(of(value)).toBeUndefined());
  it("no header, no map", () => {
    expect(of(undefined)).toBeUndefined();
    expect(grpcStatusOf(undefined)).toBeUndefined();
  });
});
