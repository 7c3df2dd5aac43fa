/**
 * Loads the demo protos (Echo, Inventory, grpc.health.v1) once, with the options every demo
 * client and server share, and exposes their service constructors.
 */
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

/** Directory holding the demo `.proto` files (the include root for imports). */
export const DEMO_PROTO_DIR = fileURLToPath(new URL("../protos/", import.meta.url));

/** The demo proto files, relative to DEMO_PROTO_DIR. */
export const DEMO_PROTO_FILES = [
  "meshwasm/demo/v1/echo.proto",
  "meshwasm/demo/v1/inventory.proto",
  "grpc/health/v1/health.proto",
] as const;

/** Fully-qualified gRPC service names of the demo services. */
export const ECHO_SERVICE = "meshwasm.demo.v1.Echo";
export const INVENTORY_SERVICE = "meshwasm.demo.v1.Inventory";
export const HEALTH_SERVICE = "grpc.health.v1.Health";

export const PROTO_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [DEMO_PROTO_DIR],
};

export interface DemoProtos {
  packageDefinition: protoLoader.PackageDefinition;
  echo: grpc.ServiceClientConstructor;
  inventory: grpc.ServiceClientConstructor;
  health: grpc.ServiceClientConstructor;
}

let cached: DemoProtos | undefined;

/** Loads (once per process) and returns the demo service definitions. */
export function loadDemoProtos(): DemoProtos {
  if (cached) return cached;
  const packageDefinition = protoLoader.loadSync([...DEMO_PROTO_FILES], PROTO_LOADER_OPTIONS);
  const root = grpc.loadPackageDefinition(packageDefinition);
  cached = {
    packageDefinition,
    echo: lookup(root, ECHO_SERVICE),
    inventory: lookup(root, INVENTORY_SERVICE),
    health: lookup(root, HEALTH_SERVICE),
  };
  return cached;
}

function lookup(root: grpc.GrpcObject, name: string): grpc.ServiceClientConstructor {
  let node: unknown = root;
  for (const part of name.split(".")) {
    node = (node as Record<string, unknown>)[part];
  }
  if (typeof node !== "function") throw new Error(`demo proto service ${name} not found`);
  return node as grpc.ServiceClientConstructor;
}
