// The pipeline case's driver: runs the stages one after another, each as its
// own process: `node pipeline.mjs <mode> <stage,stage,...>`.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const [mode, list] = process.argv.slice(2);
const stage = fileURLToPath(new URL("./pipeline-stage.mjs", import.meta.url));
const t0 = performance.now();
for (const name of list.split(",")) {
  const r = spawnSync(process.execPath, [stage, mode, name], { stdio: "inherit" });
  if (r.status !== 0) throw new Error(`stage ${name} exited with ${r.status ?? r.signal}`);
}
process.stdout.write(JSON.stringify({ ms: performance.now() - t0 }) + "\n");
