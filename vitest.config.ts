import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The real stack's suites: `npm run test:stack` (vitest.stack.config.ts).
    exclude: ["test/real-stack/**", "**/node_modules/**"],
    setupFiles: ["./test/support/validate-manifests.ts"],
    // Installs chromium for the report tests when it is missing (apt-get, as root); never skips them.
    // Bundles the report page's script from its TypeScript source.
    globalSetup: ["./test/support/chromium-setup.ts", "./test/support/report-client-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Tests spawn stage processes; two cores are all CI has.
    maxWorkers: 2,
    reporters: ["default", "./test/support/summary-reporter.ts"],
    // Coverage of the library and CLI code that runs in the test processes (stage and CLI
    // processes the tests spawn are not counted). The run fails under the floor.
    coverage: {
      enabled: true,
      provider: "v8",
      include: ["src/**/*.ts", "exporters/**/*.ts"],
      reporter: ["text-summary", "json-summary"],
      reportsDirectory: "coverage",
      // The floor, a little under what the suite measures (statements 54%, branches 52%, functions 56%, lines 56%).
      thresholds: { statements: 50, branches: 48, functions: 52, lines: 52 },
    },
  },
});
