// The exec case's driver, run under `stagetrace run`:
// `node exec-driver.mjs <count> <wrap.mjs> <bin/stagetrace>`. Each of <count>
// times, interleaved: `true` bare, an empty node wrapper spawning `true`
// (wrap.mjs), and `stagetrace exec --stage exec_<i> -- true`. Prints each
// one's wall times (spawn to exit, ms).
import { spawnSync } from "node:child_process";

const [countArg, wrap, cli] = process.argv.slice(2);
const times = { bare: [], wrapper: [], exec: [] };
const timed = (into, command, args) => {
  const t0 = performance.now();
  const r = spawnSync(command, args, { stdio: "inherit" });
  into.push(performance.now() - t0);
  if (r.status !== 0) throw new Error(`${command} ${args.join(" ")} exited with ${r.status ?? r.signal}`);
};
for (let i = 0; i < Number(countArg); i++) {
  timed(times.bare, "true", []);
  timed(times.wrapper, process.execPath, [wrap, "true"]);
  timed(times.exec, process.execPath, [cli, "exec", "--stage", `exec_${i}`, "--", "true"]);
}
process.stdout.write(JSON.stringify(times) + "\n");
