import { describe, expect, it } from "vitest";
import { objectDiff, unifiedDiff } from "./diff-text.ts";

describe("unifiedDiff", () => {
  it("prints hunks with three lines of context, as diff -u does", () => {
    const a = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"].join("\n") + "\n";
    const b = a.replace("e\n", "E\n").replace("j\n", "j\nk\n");
    expect(unifiedDiff(a, b, "x", "y")).toBe("--- x\n+++ y\n@@ -2,9 +2,10 @@\n b\n c\n d\n-e\n+E\n f\n g\n h\n i\n j\n+k\n");
    expect(unifiedDiff(a, a, "x", "y")).toBe("");
  });

  it("separates far-apart changes into hunks", () => {
    const lines = Array.from({ length: 30 }, (_, i) => `l${i}`);
    const b = [...lines];
    b[2] = "X";
    b[25] = "Y";
    const d = unifiedDiff(lines.join("\n"), b.join("\n"), "x", "y");
    expect(d.match(/^@@/gm)).toHaveLength(2);
    expect(d).toContain("@@ -1,6 +1,6 @@\n l0\n l1\n-l2\n+X\n");
    expect(d).toContain("@@ -23,7 +23,7 @@\n l22\n l23\n l24\n-l25\n+Y\n");
  });
});

describe("objectDiff", () => {
  const live = {
    apiVersion: "extensions.istio.io/v1alpha1",
    kind: "WasmPlugin",
    metadata: { name: "m", namespace: "ns", resourceVersion: "7", uid: "u", generation: 2, creationTimestamp: "2026-01-01T00:00:00Z", managedFields: [{}] },
    spec: { url: "oci://r/m@sha256:1", phase: "STATS" },
    status: { conditions: [] },
  };
  it("ignores server-kept fields and shows the spec change", () => {
    const desired = { ...live, metadata: { ...live.metadata, resourceVersion: "8" }, spec: { url: "oci://r/m@sha256:2", phase: "STATS" } };
    const d = objectDiff(live, desired, "WasmPlugin/ns/m");
    expect(d).toBe("--- live/WasmPlugin/ns/m\n+++ desired/WasmPlugin/ns/m\n@@ -4,5 +4,5 @@\n   name: m\n   namespace: ns\n spec:\n-  url: oci://r/m@sha256:1\n+  url: oci://r/m@sha256:2\n   phase: STATS\n");
    expect(objectDiff(live, { ...live, status: { x: 1 } }, "id")).toBe("");
  });
  it("a creation diffs against /dev/null", () => {
    expect(objectDiff(undefined, live, "WasmPlugin/ns/m")).toMatch(/^--- \/dev\/null\n\+\+\+ desired\/WasmPlugin\/ns\/m\n@@ -0,0 \+1,8 @@\n\+apiVersion/);
  });
});
