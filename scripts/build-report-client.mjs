// Bundles the report page's script (src/report/client/, TypeScript) into one
// browser file, dist/report-client/report.js, which `stagetrace report`
// inlines into every report. Run by `npm run build`, `prepare` and `npm test`.
import { build } from "esbuild";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "dist", "report-client", "report.js");

const result = await build({
  entryPoints: [join(root, "src", "report", "client", "main.ts")],
  bundle: true,
  format: "iife",
  platform: "browser",
  target: "es2020",
  minify: true,
  legalComments: "none",
  charset: "utf8",
  write: false,
  logLevel: "warning",
});
const js = result.outputFiles[0].text;
// The script is inlined in a <script> element: nothing in it may end that element.
if (/<\/script/i.test(js)) throw new Error("the bundled report script contains </script");
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, js);
