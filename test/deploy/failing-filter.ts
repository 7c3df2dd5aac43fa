/**
 * A deliberately broken filter for the end-to-end test: AssemblyScript on the SDK that answers
 * every gRPC request with a trailers-only UNAVAILABLE (as a filter whose dependency is down
 * would), so the grpc-metrics filter ahead of it counts a server error for every RPC. Compiled
 * from source held here (not a file under test/, which tsc would type-check as TypeScript).
 */
import { compileAssemblyScript } from "../../manager/src/build/index.ts";

const ENTRY = "test/deploy/.virtual/fail-every-rpc.ts";
const SOURCE = `
import { RootContext, HttpContext, HttpContextBase, registerRootContext } from "../../../filters/sdk/context";
import { FilterHeadersStatus, GrpcStatus } from "../../../filters/sdk/abi/imports";
import { sendGrpcError } from "../../../filters/sdk/grpc-status";
export * from "../../../filters/sdk/abi/exports";

class FailRoot extends RootContext {
  createHttpContext(contextId: u32): HttpContextBase | null { return new FailStream(contextId, this); }
}

class FailStream extends HttpContext<FailRoot> {
  onRequestHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
    sendGrpcError(GrpcStatus.Unavailable, "fail-every-rpc: broken on purpose", null, "fail_every_rpc");
    return FilterHeadersStatus.StopIteration;
  }
}

registerRootContext((contextId: u32): RootContext => new FailRoot(contextId));
`;

export function failingFilterWasm(): Promise<Uint8Array> {
  return compileAssemblyScript(ENTRY, { target: "release", sources: { [ENTRY]: SOURCE } });
}
