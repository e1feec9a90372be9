// Vitest global setup: bundles the report page's script (src/report/client/)
// into dist/report-client/report.js, as `npm run build` does, so that a
// `vitest run` of the report tests draws pages with the current source.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const BUILD = fileURLToPath(new URL("../../scripts/build-report-client.mjs", import.meta.url));

export default function setup(): void {
  const r = spawnSync(process.execPath, [BUILD], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`bundling the report's page script failed (${r.status ?? r.signal}):\n${r.stderr}`);
}
