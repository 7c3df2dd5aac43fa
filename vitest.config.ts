import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["manager/**/*.test.ts", "filters/**/*.test.ts", "test/**/*.test.ts"],
    exclude: ["**/node_modules/**", "**/assembly/**"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});
