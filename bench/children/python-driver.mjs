// The Python case's driver, run under `stagetrace run`:
// `node python-driver.mjs <python> <count> <python-stage.py>`. Each of <count>
// times, interleaved: the stage script bare (`bare py_bare_<i>`), then the
// same script using the package (`package py_<i>`). Prints each one's wall
// times (spawn to exit, ms).
import { spawnSync } from "node:child_process";

const [python, countArg, script] = process.argv.slice(2);
const times = { bare: [], package: [] };
const timed = (into, args) => {
  const t0 = performance.now();
  const r = spawnSync(python, [script, ...args], { stdio: "inherit" });
  into.push(performance.now() - t0);
  if (r.status !== 0) throw new Error(`${python} ${script} ${args.join(" ")} exited with ${r.status ?? r.signal}`);
};
for (let i = 0; i < Number(countArg); i++) {
  timed(times.bare, ["bare", `py_bare_${i}`]);
  timed(times.package, ["package", `py_${i}`]);
}
process.stdout.write(JSON.stringify(times) + "\n");
