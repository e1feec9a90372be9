// `npm run demo`: runs the subtitle pipeline into a fresh run directory, then
// shows what it left behind.
//
//   OUTPUT_DIR       the run directory (default out/subtitle-pipeline/run-<time>)
//   FAIL_STAGE, ENABLE_LYRICS_DETECTION, TRANSLATION_TARGET_LANG, TMDB_API_KEY: see README.md here
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const root = resolve(here, "..", "..");
const cli = join(root, "bin", "stagetrace");
const stamp = new Date().toISOString().replace(/[:.]/g, "-");
const runDir = resolve(process.env.OUTPUT_DIR || join("out", "subtitle-pipeline", `run-${stamp}`));
const show = (p) => {
  const rel = relative(process.cwd(), p);
  return rel === "" ? "." : rel.startsWith("..") ? p : rel;
};

// A fresh run: nothing inherited from a run this process may itself be part of.
const env = { ...process.env, OUTPUT_DIR: runDir };
for (const key of ["STAGETRACE_RUN_ID", "STAGETRACE_RUN_DIR", "STAGETRACE_PIPELINE_LOG", "STAGETRACE_STAGES", "STAGETRACE_PIPELINE"])
  delete env[key];

console.log(`subtitle-pipeline: running into ${show(runDir)}\n`);
const pipeline = spawnSync("bash", [join(here, "run-pipeline.sh")], { env, stdio: "inherit" });
const code = pipeline.status ?? 1;
if (code !== 0) console.error(`\nsubtitle-pipeline: the pipeline exited with ${pipeline.status ?? pipeline.signal}`);

console.log("");
spawnSync(process.execPath, [cli, "show", runDir], { stdio: "inherit" });

// The HTML report, when this version of the CLI has the command.
if (spawnSync(process.execPath, [cli, "report", "--help"], { stdio: "ignore" }).status === 0) {
  const report = spawnSync(process.execPath, [cli, "report", runDir], { encoding: "utf8" });
  const said = (report.stdout ?? "").trim();
  const path = said
    .split("\n")
    .reverse()
    .find((l) => existsSync(resolve(l.trim())))
    ?.trim();
  if (report.status === 0) console.log(`\nReport: ${path ? show(resolve(path)) : said}`);
  else console.error(`\nstagetrace report failed (${report.status}): ${(report.stderr ?? "").trim()}`);
}

const logs = existsSync(join(runDir, "logs")) ? readdirSync(join(runDir, "logs")).filter((f) => f.endsWith(".log")) : [];
console.log("");
if (logs[0]) console.log(`Pipeline log (INFO and up, every stage): ${show(join(runDir, "logs", logs[0]))}`);
console.log(`Each stage directory holds manifest.json and stage.log; the run's summary is ${show(join(runDir, "pipeline.json"))}.`);
console.log(
  code === 0
    ? "Try: FAIL_STAGE=asr npm run demo, ENABLE_LYRICS_DETECTION=true npm run demo, TRANSLATION_TARGET_LANG=es npm run demo"
    : "Try: npm run demo (no FAIL_STAGE) for a run where every stage succeeds",
);
process.exitCode = code;
