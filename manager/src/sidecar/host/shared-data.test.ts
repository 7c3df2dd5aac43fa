import { describe, expect, it } from "vitest";
import { WasmResult } from "./abi.ts";
import { SharedData, U32Sequence } from "./shared-data.ts";

const b = (s: string) => new TextEncoder().encode(s);

describe("SharedData", () => {
  it("returns NotFound for a missing key and namespace", () => {
    const d = new SharedData();
    expect(d.get("vm", "k")).toEqual({ result: WasmResult.NotFound });
    d.set("vm", "other", b("x"), 0);
    expect(d.get("vm", "k").result).toBe(WasmResult.NotFound);
  });

  it("stores, returns a CAS, and gives every write a new increasing CAS", () => {
    const d = new SharedData();
    expect(d.set("vm", "k", b("v1"), 0)).toBe(WasmResult.Ok);
    const first = d.get("vm", "k");
    expect(first).toEqual({ result: WasmResult.Ok, value: b("v1"), cas: 1 });
    expect(d.set("vm", "k", b("v2"), 0)).toBe(WasmResult.Ok);
    expect(d.get("vm", "k").cas).toBe(2);
    expect(d.set("vm", "other", b("v"), 0)).toBe(WasmResult.Ok);
    expect(d.get("vm", "other").cas).toBe(3);
  });

  it.each([
    ["matching cas", (cas: number) => cas, WasmResult.Ok, "new"],
    ["stale cas", (cas: number) => cas + 100, WasmResult.CasMismatch, "old"],
    ["cas 0 (unconditional)", () => 0, WasmResult.Ok, "new"],
  ])("compare-and-swap with %s", (_name, pick, result, after) => {
    const d = new SharedData();
    d.set("vm", "k", b("old"), 0);
    const cas = d.get("vm", "k").cas!;
    expect(d.set("vm", "k", b("new"), pick(cas))).toBe(result);
    expect(new TextDecoder().decode(d.get("vm", "k").value)).toBe(after);
  });

  it("writes a missing key whatever the cas, as cpp-host does", () => {
    const d = new SharedData();
    expect(d.set("vm", "k", b("v"), 12345)).toBe(WasmResult.Ok);
    expect(d.get("vm", "k").result).toBe(WasmResult.Ok);
  });

  it("keeps vm_id namespaces apart, the empty vm_id being one of them", () => {
    const d = new SharedData();
    d.set("", "k", b("empty"), 0);
    d.set("a", "k", b("a"), 0);
    expect(d.get("", "k").value).toEqual(b("empty"));
    expect(d.get("a", "k").value).toEqual(b("a"));
    expect(d.get("b", "k").result).toBe(WasmResult.NotFound);
  });

  it("copies values in and out", () => {
    const d = new SharedData();
    const v = b("abc");
    d.set("vm", "k", v, 0);
    v[0] = 0x7a;
    const out = d.get("vm", "k").value!;
    out[1] = 0x7a;
    expect(d.get("vm", "k").value).toEqual(b("abc"));
  });

  it("allows an empty value", () => {
    const d = new SharedData();
    d.set("vm", "k", new Uint8Array(0), 0);
    expect(d.get("vm", "k")).toMatchObject({ result: WasmResult.Ok, value: new Uint8Array(0) });
  });
});

describe("U32Sequence", () => {
  it("skips 0 when it wraps around", () => {
    const s = new U32Sequence(0xfffffffe);
    expect([s.next(), s.next(), s.next()]).toEqual([0xfffffffe, 0xffffffff, 1]);
  });
});
