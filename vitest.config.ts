import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    setupFiles: ["./test/support/validate-manifests.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Tests spawn stage processes; two cores are all CI has.
    maxWorkers: 2,
    reporters: ["default", "./test/support/summary-reporter.ts"],
  },
});
