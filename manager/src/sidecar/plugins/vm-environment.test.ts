import { describe, expect, it } from "vitest";
import { vmEnvironment, WASM_POLICY_ENV, WASM_RESOURCE_VERSION_ENV, type VmEnvironmentPlugin } from "./vm-environment.ts";

const plugin = (over: Partial<VmEnvironmentPlugin> = {}): VmEnvironmentPlugin => ({
  env: [],
  imagePullPolicy: "UNSPECIFIED_POLICY",
  resourceVersion: "rv-7",
  ...over,
});

describe("vmEnvironment", () => {
  it("remote module: INLINE values and HOST values, every ISTIO_META_ key stripped (the user's too)", () => {
    const p = plugin({
      imagePullPolicy: "Always",
      env: [
        { name: "GREETING", valueFrom: "INLINE", value: "hello" },
        { name: "ISTIO_META_MINE", valueFrom: "INLINE", value: "dropped" },
        { name: "POD_NAME", valueFrom: "HOST", value: "" },
        { name: "ISTIO_META_FROM_HOST", valueFrom: "HOST", value: "" },
      ],
    });
    const env = vmEnvironment(p, true, { POD_NAME: "checkout-1", ISTIO_META_FROM_HOST: "kept", OTHER: "not asked for" });
    expect(env).toEqual({ POD_NAME: "checkout-1", ISTIO_META_FROM_HOST: "kept", GREETING: "hello" });
  });

  it("file:// module: istiod's variables reach the VM; an INLINE entry of the same name replaces istiod's", () => {
    expect(vmEnvironment(plugin({ imagePullPolicy: "IfNotPresent" }), false, {})).toEqual({
      [WASM_POLICY_ENV]: "IfNotPresent",
      [WASM_RESOURCE_VERSION_ENV]: "rv-7",
    });
    expect(vmEnvironment(plugin({ env: [{ name: WASM_RESOURCE_VERSION_ENV, valueFrom: "INLINE", value: "mine" }] }), false, {})).toEqual({
      [WASM_RESOURCE_VERSION_ENV]: "mine",
    });
  });

  it("a HOST variable the proxy does not have is left out; an empty one is kept", () => {
    const p = plugin({ env: [{ name: "MISSING", valueFrom: "HOST", value: "" }, { name: "EMPTY", valueFrom: "HOST", value: "" }] });
    expect(vmEnvironment(p, true, { EMPTY: "" })).toEqual({ EMPTY: "" });
  });
});
