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
  },
});
