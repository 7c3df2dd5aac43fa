/**
 * noop: a filter that creates a context per stream and continues everywhere. It exists to measure
 * the SDK's own cost — module size (vs an empty AssemblyScript module) and per-callback dispatch
 * overhead in benchmarks.
 */
import { RootContext, HttpContext, registerRootContext } from "../../../sdk/context";
export * from "../../../sdk/abi/exports";

class NoopRoot extends RootContext {
  createHttpContext(contextId: u32): HttpContext | null { return new HttpContext(contextId, this); }
}

registerRootContext((contextId: u32): RootContext => new NoopRoot(contextId));
