// An empty process that runs a command and exits with its code: what
// `stagetrace run` costs at the least (one more node process around the pipeline).
import { spawnSync } from "node:child_process";

const [command, ...args] = process.argv.slice(2);
const r = spawnSync(command, args, { stdio: "inherit" });
process.exitCode = r.status ?? 1;
