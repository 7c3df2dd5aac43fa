/**
 * Public surface of the proxy-wasm host: load a plugin, make stream filters, and test helpers.
 * See README.md in this folder for the contract and the Envoy behaviours implemented.
 */
export { createPlugin, forListenerDirection, type Plugin } from "./plugin.ts";
export { PluginLoadError, failStreamReply, WASM_FAIL_STREAM_DETAILS, type FailurePolicy } from "./failure.ts";
export { WasmHttpFilter, type FilterBinding } from "./http-filter.ts";
export { WasmVm, RestrictedCallbackError, MAX_GUEST_MEMORY_BYTES } from "./vm.ts";
export { RootContext, Context, type PluginIdentity } from "./context.ts";
export { loadModule, ModuleLoadError, type LoadedModule, type AbiVersion } from "./module.ts";
export {
  createTestEnvironment,
  openTestStream,
  TestStream,
  FakeHttpCalls,
  FakeGrpcCalls,
  FakeGrpcStream,
  httpToGrpcStatus,
  testPluginConfig,
  type TestEnvironment,
  type TestStreamOptions,
  type FakeClusterHandler,
  type Sink,
} from "./testing.ts";
export * from "./abi.ts";
export type * from "./api.ts";
export { VirtualClock, RealClock } from "./clock.ts";
export { parseGrpcService, encodeGrpcService, type GrpcServiceConfig } from "./grpc-service.ts";
