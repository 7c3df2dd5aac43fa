/** Public API of the demo services: protos, backends, clients and message shapes. */
export * from "./protos.ts";
export * from "./messages.ts";
export { startDemoBackend, type DemoBackend, type DemoBackendOptions } from "./backend.ts";
export { DEMO_ITEMS } from "./inventory-service.ts";
export * from "./clients.ts";
