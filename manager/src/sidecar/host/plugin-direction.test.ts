import { describe, expect, it } from "vitest";
import { directionGuest } from "./direction-guest.ts";
import { createPlugin, forListenerDirection } from "./plugin.ts";
import { createTestEnvironment, openTestStream, testPluginConfig } from "./testing.ts";

const said = (lines: string[]) => lines.map((l) => /dir=[0-9?]/.exec(l)?.[0]).filter((x) => x !== undefined);

describe("forListenerDirection (a plugin per listener, as Envoy's filter configurations)", () => {
  it("adds a root per worker on the same VMs whose xds.listener_direction is the listener's, in on_configure too", async () => {
    const env = createTestEnvironment({ concurrency: 2 });
    const base = await createPlugin(testPluginConfig(await directionGuest()), env);
    try {
      // Without a listener the root context has no direction: canary + two workers.
      expect(said(env.logLines())).toEqual(["dir=?", "dir=?", "dir=?"]);
      env.logs.length = 0;
      const inbound = forListenerDirection(base, 1);
      const outbound = forListenerDirection(base, 2);
      expect(said(env.logLines())).toEqual(["dir=1", "dir=1", "dir=1", "dir=2", "dir=2", "dir=2"]);
      expect(inbound.workerVms()).toEqual(base.workerVms());
      const roots = [base, inbound, outbound].flatMap((p) => p.rootContexts());
      expect(new Set(roots).size).toBe(6);
      expect(inbound.config.listenerDirection).toBe(1);
      const s = openTestStream(outbound);
      s.sendRequestHeaders([[":path", "/"]], true);
      expect(s.upstream.headers).toBeDefined();
      await outbound.close();
      expect(outbound.rootContexts()).toEqual([]);
      expect(inbound.rootContexts()).toHaveLength(2);
    } finally {
      await base.close();
    }
  });
});
