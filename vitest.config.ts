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
      // The report page's script runs in Chromium (test/report/), where v8 coverage of this process cannot see it.
      exclude: ["src/report/client/**"],
      reporter: ["text-summary", "json-summary"],
      reportsDirectory: "coverage",
      // The floor, a little under what the suite measures (statements 52%, branches 49%, functions 54%, lines 54%).
      thresholds: { statements: 48, branches: 46, functions: 50, lines: 50 },
    },
  },
});
