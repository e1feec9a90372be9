import { defineConfig } from "vitest/config";

// `npm run test:stack`: the suites that run the real Collector, Jaeger,
// Prometheus and Alertmanager (built by scripts/stack.mjs before vitest starts).
export default defineConfig({
  test: {
    include: ["test/real-stack/**/*.test.ts"],
    setupFiles: ["./test/support/validate-manifests.ts"],
    testTimeout: 300_000,
    hookTimeout: 600_000,
    maxWorkers: 2,
    reporters: ["default", "./test/support/summary-reporter.ts"],
  },
});
