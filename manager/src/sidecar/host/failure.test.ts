/** ReloadBackoff follows Envoy's JitteredExponentialBackOffStrategy; PluginLoadError's message. */
import { describe, expect, it } from "vitest";
import { VirtualClock } from "./clock.ts";
import { PluginLoadError, ReloadBackoff } from "./failure.ts";

describe("ReloadBackoff", () => {
  it("draws random % interval, the interval doubling from base up to 10 x base", () => {
    const b = new ReloadBackoff(new VirtualClock(), 1000, () => 0.5);
    expect(Array.from({ length: 7 }, () => b.nextDelayMs())).toEqual([500, 1000, 2000, 4000, 5000, 5000, 5000]);
    const top = new ReloadBackoff(new VirtualClock(), 1000, () => 0.999999);
    expect(Array.from({ length: 5 }, () => top.nextDelayMs())).toEqual([999, 1999, 3999, 7999, 9999]);
    const zero = new ReloadBackoff(new VirtualClock(), 1000, () => 0);
    expect(zero.nextDelayMs()).toBe(0);
  });

  it("allows a reload now, then only after the drawn delay", () => {
    const clock = new VirtualClock();
    const b = new ReloadBackoff(clock, 1000, () => 0.25);
    expect(b.tryAcquire()).toBe(true);
    expect(b.tryAcquire()).toBe(false);
    clock.advance(249);
    expect(b.tryAcquire()).toBe(false);
    clock.advance(1);
    expect(b.tryAcquire()).toBe(true); // next delay 500
    clock.advance(499);
    expect(b.tryAcquire()).toBe(false);
    clock.advance(1);
    expect(b.tryAcquire()).toBe(true);
  });

  it("a zero base never holds a reload back", () => {
    const b = new ReloadBackoff(new VirtualClock(), 0, () => 0.5);
    expect([b.tryAcquire(), b.tryAcquire(), b.tryAcquire()]).toEqual([true, true, true]);
  });
});

describe("PluginLoadError", () => {
  it("names the plugin, the module and the reason", () => {
    const e = new PluginLoadError("authz", "authz.wasm", "on_configure returned false");
    expect(e.message).toBe('Wasm plugin "authz" (authz.wasm) failed to load: on_configure returned false');
  });
});
