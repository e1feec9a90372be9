// The benchmark cases (the table in the performance issue). Each `run()`
// returns { measurements: [{ label, unit, summary }], targets: [{ text, value, pass }], notes }.
import { randomFillSync } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, writeSync } from "node:fs";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import {
  CHILDREN,
  CLI,
  ROOT,
  ROUNDS,
  fmt,
  nodeBinary,
  pythonWithPackage,
  removeDir,
  runNode,
  sampleTreePeak,
  size,
  summary,
  tempDir,
} from "./lib.mjs";
import { refusingUrl, startReceiver } from "./otlp-receiver.mjs";

const child = (name) => join(CHILDREN, name);
const EXIT_BOUND_MS = 3000;

// Each case's size: the issue's, or a fifth to a tenth of it with BENCH_QUICK=1 (each can be set by its variable).
const LOG_LINES = size("BENCH_LOG_LINES", 200_000, 20_000);
const HASH_MB = size("BENCH_HASH_MB", 1024, 128);
const SMALL_FILES = size("BENCH_SMALL_FILES", 100_000, 10_000);
const REUSE_FILES = size("BENCH_REUSE_FILES", 4000, 500);
const EMPTY_STAGES = size("BENCH_EMPTY_STAGES", 1000, 200);
const EXPORT_SPANS = size("BENCH_EXPORT_SPANS", 10_000, 2_000);
const EXEC_STAGES = size("BENCH_EXEC_STAGES", 10, 3);
const PYTHON_STAGES = size("BENCH_PYTHON_STAGES", 10, 3);
const AGENT_FILES = size("BENCH_AGENT_FILES", 100_000, 10_000);
const AGENT_LOG_LINES = size("BENCH_AGENT_LOG_LINES", 1_000_000, 100_000);
/** The variable `stagetrace run` names its agent in, for the stages it starts. */
const AGENT_ENV = process.env.BENCH_AGENT_ENV || "STAGETRACE_AGENT";

const x = (n) => `${n.toFixed(2)}×`;
const measure = (label, unit, values) => ({ label, unit, summary: summary(values) });

function countLines(path) {
  if (!existsSync(path)) return 0;
  const buf = readFileSync(path);
  let n = 0;
  for (let i = 0; i < buf.length; i++) if (buf[i] === 10) n++;
  return n;
}

function pipelineLogOf(runDir) {
  const dir = join(runDir, "logs");
  const f = existsSync(dir) ? readdirSync(dir).find((n) => n.startsWith("99_pipeline")) : undefined;
  return f ? join(dir, f) : null;
}

async function loggingRound(mode, lines, env = {}) {
  const dir = tempDir("log");
  try {
    const r = await runNode(child("logging.mjs"), [mode, dir, String(lines)], env);
    let complete = true;
    if (mode === "stagetrace") {
      // stagetrace adds the stage's start and finish lines to both files.
      complete = countLines(join(dir, "logging", "stage.log")) === lines + 2 && countLines(pipelineLogOf(dir)) === lines / 2 + 2;
    } else if (mode !== "noop") {
      complete = countLines(join(dir, "stage.log")) === lines && countLines(join(dir, "pipeline.log")) === lines / 2;
    }
    return { rate: r.result.linesPerSec, exitMs: r.exitAfterOutputMs, complete };
  } finally {
    removeDir(dir);
  }
}

const logging = {
  id: "logging",
  title: "Dual logging through io.getStageLogger()",
  describe: () =>
    `${LOG_LINES.toLocaleString("en-US")} lines, half DEBUG half INFO, trace ids on every line; DEBUG+ to stage.log, INFO+ to the pipeline log. ` +
    "Each run is its own process; lines/s is counted from the first line until both files are written (stagetrace: runStage returned; " +
    "pino: both SonicBoom destinations closed; winston: both file transports finished), and the files' line counts are checked after exit. " +
    "Baselines: pino.multistream to two pino.destination files, winston with two File transports, pino to a no-op stream (formatting only). " +
    "Baselines get their trace ids from a mixin returning constants.",
  async run() {
    const lines = LOG_LINES;
    const modes = ["stagetrace", "multistream", "winston", "noop"];
    const rates = Object.fromEntries(modes.map((m) => [m, []]));
    let incomplete = [];
    for (let r = 0; r < ROUNDS; r++) {
      for (const m of modes) {
        const res = await loggingRound(m, lines);
        rates[m].push(res.rate);
        if (!res.complete) incomplete.push(`${m} (round ${r + 1})`);
      }
    }
    const med = Object.fromEntries(modes.map((m) => [m, summary(rates[m]).median]));
    return {
      measurements: [
        measure("stagetrace getStageLogger()", "lines/s", rates.stagetrace),
        measure("pino.multistream, two files", "lines/s", rates.multistream),
        measure("winston, two files", "lines/s", rates.winston),
        measure("pino to a no-op stream", "lines/s", rates.noop),
      ],
      targets: [
        { text: "≥ 2× pino.multistream", value: x(med.stagetrace / med.multistream), pass: med.stagetrace / med.multistream >= 2 },
        { text: "≥ 4× winston", value: x(med.stagetrace / med.winston), pass: med.stagetrace / med.winston >= 4 },
        { text: "≥ 0.5× pino to no-op", value: x(med.stagetrace / med.noop), pass: med.stagetrace / med.noop >= 0.5 },
        {
          text: "both files complete after exit",
          value: incomplete.length ? `incomplete: ${incomplete.join(", ")}` : "all rounds complete",
          pass: incomplete.length === 0 || incomplete.every((i) => !i.startsWith("stagetrace")),
        },
      ],
      notes: incomplete.length ? [`baseline runs with incomplete files: ${incomplete.join(", ")}`] : [],
    };
  },
};

const loggingOtlp = {
  id: "logging-otlp",
  title: "Dual logging with the OTLP log endpoint refusing",
  describe: () =>
    "The same stagetrace logging run with OTEL_EXPORTER_OTLP_ENDPOINT pointing at a port where nothing listens " +
    "(every export is refused), against the same run with no endpoint. The exit time is from the child's last output line to its exit.",
  async run() {
    const lines = LOG_LINES;
    const url = await refusingUrl();
    const local = [];
    const refused = [];
    const exits = [];
    let incomplete = 0;
    for (let r = 0; r < ROUNDS; r++) {
      const a = await loggingRound("stagetrace", lines);
      const b = await loggingRound("stagetrace", lines, { OTEL_EXPORTER_OTLP_ENDPOINT: url, BENCH_ALLOW_FAIL: "" });
      local.push(a.rate);
      refused.push(b.rate);
      exits.push(b.exitMs);
      if (!a.complete || !b.complete) incomplete++;
    }
    const ratio = summary(refused).median / summary(local).median;
    const worstExit = Math.max(...exits);
    return {
      measurements: [
        measure("no endpoint", "lines/s", local),
        measure("endpoint refusing", "lines/s", refused),
        measure("endpoint refusing: last output → exit", "ms", exits),
      ],
      targets: [
        { text: "≥ 0.8× of no endpoint", value: x(ratio), pass: ratio >= 0.8 },
        {
          text: `exit within the bound (${EXIT_BOUND_MS} ms), worst round`,
          value: `${Math.round(worstExit)} ms`,
          pass: worstExit <= EXIT_BOUND_MS,
        },
        {
          text: "local files complete",
          value: incomplete ? `${incomplete} rounds incomplete` : "all rounds complete",
          pass: incomplete === 0,
        },
      ],
    };
  },
};

function makeBigFile(path, bytes) {
  const fd = openSync(path, "w");
  const buf = Buffer.allocUnsafe(8 << 20);
  randomFillSync(buf);
  for (let done = 0; done < bytes;) {
    const n = Math.min(buf.length, bytes - done);
    writeSync(fd, buf, 0, n);
    buf[done % 4096] ^= 0xff; // not the same 8 MiB over and over
    done += n;
  }
  closeSync(fd);
}

const hashing = {
  id: "hashing",
  title: "sha256 of a large file through trackInput",
  describe: () =>
    `A ${HASH_MB} MiB file of random bytes (made in a temp directory, deleted afterwards, in the page cache for every round). ` +
    "stagetrace: trackInput(file) and finalize awaited, in its own process, with monitorEventLoopDelay (1 ms resolution) running. " +
    "Baseline: node:crypto sha256 over 1 MiB readSync chunks in a loop (which blocks the event loop throughout).",
  async run() {
    const mb = HASH_MB;
    const dir = tempDir("hash");
    const file = join(dir, "big.bin");
    try {
      makeBigFile(file, mb * 2 ** 20);
      const base = [];
      const st = [];
      const delays = [];
      let digestsMatch = true;
      for (let r = 0; r < ROUNDS; r++) {
        const b = await runNode(child("hashing.mjs"), ["baseline", file]);
        const runDir = join(dir, `run-${r}`);
        const s = await runNode(child("hashing.mjs"), ["stagetrace", file, runDir]);
        removeDir(runDir);
        base.push(b.result.mbPerSec);
        st.push(s.result.mbPerSec);
        delays.push(s.result.maxDelayMs);
        if (b.result.digest !== s.result.digest) digestsMatch = false;
      }
      const ratio = summary(st).median / summary(base).median;
      const worst = Math.max(...delays);
      return {
        measurements: [
          measure("stagetrace trackInput + finalize", "MB/s", st),
          measure("readSync 1 MiB + sha256 loop", "MB/s", base),
          measure("stagetrace: longest event-loop delay", "ms", delays),
        ],
        targets: [
          { text: "≥ 0.9× the readSync loop", value: x(ratio), pass: ratio >= 0.9 },
          { text: "event loop never blocked > 20 ms (worst round)", value: `${worst.toFixed(1)} ms`, pass: worst <= 20 },
          { text: "same digest as the baseline", value: digestsMatch ? "yes" : "no", pass: digestsMatch },
        ],
      };
    } finally {
      removeDir(dir);
    }
  },
};

/** Writes `count` files of random bytes, 200 B to 2 KB, `f<i>.dat` in `dir` (which exists). */
function writeSmallFiles(dir, count) {
  const buf = Buffer.allocUnsafe(2048);
  for (let i = 0; i < count; i++) {
    const fd = openSync(join(dir, `f${i}.dat`), "w");
    writeSync(fd, randomFillSync(buf, 0, 200 + (i % 1800)), 0, 200 + (i % 1800));
    closeSync(fd);
  }
}

const smallFiles = {
  id: "small-files",
  title: "Tracking many small files, hashing on",
  describe: () =>
    `${SMALL_FILES.toLocaleString("en-US")} files of 200 B to 2 KB. stagetrace: trackInput for each, then finalize awaited ` +
    "(the manifest with every file is written). Baseline: statSync + sha256 of readFileSync in a plain loop. " +
    "The target is on the whole (tracking + manifest); the tracking calls alone are shown too.",
  async run() {
    const count = SMALL_FILES;
    const dir = tempDir("small");
    const files = join(dir, "files");
    mkdirSync(files);
    writeSmallFiles(files, count);
    try {
      const base = [];
      const whole = [];
      const track = [];
      const perFile = [];
      const peak = [];
      const writeOnly = [];
      for (let r = 0; r < Math.max(3, ROUNDS - 2); r++) {
        const b = await runNode(child("small-files.mjs"), ["baseline", files, String(count)]);
        const runDir = join(dir, `run-${r}`);
        const s = await runNode(child("small-files.mjs"), ["stagetrace", files, String(count), runDir]);
        removeDir(runDir);
        base.push(b.result.ms);
        whole.push(s.result.ms);
        track.push(s.result.trackMs);
        perFile.push(s.result.bytesPerFileWhileTracking);
        peak.push(s.result.peakRssMb);
        writeOnly.push(s.result.manifestWriteMs);
      }
      const ratio = summary(base).median / summary(whole).median;
      // If tracking cost nothing more than the plain loop, the manifest would still have to be written.
      const floorRatio = summary(base).median / (summary(base).median + summary(writeOnly).median);
      const trackRatio = summary(base).median / summary(track).median;
      const perFileMed = summary(perFile).median;
      return {
        measurements: [
          measure("stagetrace: trackInput × N + finalize", "ms", whole),
          measure("stagetrace: the trackInput calls alone", "ms", track),
          measure("statSync + sha256 loop", "ms", base),
          measure("memory held per tracked file while the stage runs", "bytes", perFile),
          measure("stagetrace process peak RSS", "MB", peak),
          measure("serialising and writing the finished manifest alone", "ms", writeOnly),
        ],
        targets: [
          { text: "≥ 0.7× the plain loop (tracking + manifest written)", value: x(ratio), pass: ratio >= 0.7 },
          { text: "≥ 0.7× the plain loop (the tracking calls alone)", value: x(trackRatio), pass: trackRatio >= 0.7 },
        ],
        notes: [
          `memory bound: about ${Math.round(perFileMed / 100) * 100} bytes per tracked file while the stage runs (its file event on the span: ` +
            "path, name, size, mtime, hash, metadata); finalize() writes the manifest 1,000 entries at a time, so it adds little on top " +
            `(peak RSS ${fmt(summary(peak).median)} MB for ${count.toLocaleString("en-US")} files, the runtime included); nothing is kept after the stage`,
          `the baseline records nothing, while stagetrace writes a manifest listing every file: JSON.stringify and writeFileSync of that manifest ` +
            `in one piece take ${fmt(summary(writeOnly).median)} ms on their own (${x(floorRatio)} on the whole if tracking cost no more than the plain loop); ` +
            "finalize() builds and writes it in pieces instead, which holds less at once",
        ],
      };
    } finally {
      removeDir(dir);
    }
  },
};

const reuse = {
  id: "reuse",
  title: "A stage's output tracked as the next stage's input, in another process",
  describe: () =>
    `${REUSE_FILES.toLocaleString("en-US")} files of 64 KiB written and tracked by stage "produce" in one process, then tracked with trackInput ` +
    "by stage \"consume\" in another (the hash comes from produce's fingerprint index; the index's one-time read is included). " +
    "Baseline: statSync of the same files in a plain loop. Re-hashing (STAGETRACE_REUSE_HASHES=off) is shown for comparison.",
  async run() {
    const count = REUSE_FILES;
    const dir = tempDir("reuse");
    try {
      await runNode(child("reuse.mjs"), ["produce", dir, String(count), String(64 * 1024)]);
      const stat = [];
      const reused = [];
      const rehash = [];
      let match = true;
      for (let r = 0; r < ROUNDS; r++) {
        const s = await runNode(child("reuse.mjs"), ["stat", dir, String(count)]);
        const c = await runNode(child("reuse.mjs"), ["consume", dir, String(count)]);
        const h = await runNode(child("reuse.mjs"), ["consume", dir, String(count)], { STAGETRACE_REUSE_HASHES: "off" });
        stat.push(s.result.usPerFile);
        reused.push(c.result.usPerFile);
        rehash.push(h.result.usPerFile);
        if (!c.result.hashesMatch || !h.result.hashesMatch) match = false;
      }
      const ratio = summary(reused).median / summary(stat).median;
      return {
        measurements: [
          measure("trackInput, hash reused", "µs/file", reused),
          measure("statSync", "µs/file", stat),
          measure("trackInput, re-hashed (reuse off)", "µs/file", rehash),
        ],
        targets: [
          { text: "≤ 3× a statSync per file", value: x(ratio), pass: ratio <= 3 },
          { text: "consumer's hashes equal the producer's", value: match ? "yes" : "no", pass: match },
        ],
      };
    } finally {
      removeDir(dir);
    }
  },
};

const emptyStages = {
  id: "empty-stages",
  title: "Empty runStage in one process",
  describe: () =>
    `${EMPTY_STAGES.toLocaleString("en-US")} stages with an empty body, one after another in one process, local exporters only ` +
    "(each writes its manifest.json, stage.log and pipeline-log lines). Baseline: awaiting an empty async function. " +
    "Floor: the same file operations done with node built-ins and nothing else, what this machine's file system makes them cost. Per-stage median over all stages of a round.",
  async run() {
    const count = EMPTY_STAGES;
    const st = [];
    const base = [];
    const floor = [];
    for (let r = 0; r < Math.max(3, ROUNDS - 2); r++) {
      for (const [mode, into] of [
        ["stagetrace", st],
        ["baseline", base],
        ["floor", floor],
      ]) {
        const dir = tempDir("empty");
        try {
          into.push((await runNode(child("empty-stages.mjs"), [mode, dir, String(count)])).result.medianMs);
        } finally {
          removeDir(dir);
        }
      }
    }
    const med = summary(st).median;
    const floorMed = summary(floor).median;
    return {
      measurements: [
        measure("runStage, empty body", "ms/stage", st),
        measure("empty async function", "ms/stage", base),
        measure("floor: the same file operations with node built-ins", "ms/stage", floor),
      ],
      targets: [{ text: "≤ 2 ms per stage (median)", value: `${med.toFixed(2)} ms`, pass: med <= 2 }],
      notes: [
        `the floor: a stage's file operations alone (its directory; the running manifest, the lease and the final manifest, each a temp file renamed into place; ` +
          `the lease removed; a line to stage.log, two to the pipeline log) cost ${floorMed.toFixed(2)} ms per stage on this file system in this run, ` +
          `so runStage is ${(med / floorMed).toFixed(2)}× what its files alone cost` +
          (floorMed > 2 ? "; the 2 ms target is out of reach here while creating a file costs what it does" : ""),
      ],
    };
  },
};

const STAGES = "demux,source_separation,pyannote_vad,asr,align,glossary_load,tmdb,translate,subtitle_format,qc,mux";

async function bundleForExperiment(dir) {
  // The closest-we-got experiment: stagetrace and its dependencies in one ES module.
  try {
    const { build } = await import("rolldown");
    await build({
      input: join(ROOT, "dist/src/index.js"),
      platform: "node",
      logLevel: "silent",
      output: { dir, format: "esm", entryFileNames: "stagetrace.mjs" },
    });
    return join(dir, "stagetrace.mjs");
  } catch {
    return null;
  }
}

/**
 * Checks that a round of the pipeline case ran what it claims: `stagetrace run`'s
 * pipeline.json lists the 11 stages, each succeeded with its manifest.json.
 */
function checkPipelineRun(runDir) {
  const summaryFile = join(runDir, "pipeline.json");
  if (!existsSync(summaryFile)) throw new Error(`${runDir}: no pipeline.json, so the stages did not run under \`stagetrace run\``);
  const run = JSON.parse(readFileSync(summaryFile, "utf8"));
  const names = STAGES.split(",");
  const stages = run.stages ?? [];
  if (run.status !== "success" || stages.length !== names.length || stages.some((st) => st.status !== "success")) {
    throw new Error(
      `${summaryFile}: expected 11 successful stages, got status ${run.status} with ${JSON.stringify(stages.map((st) => [st.name, st.status]))}`,
    );
  }
  for (const name of names) {
    const m = JSON.parse(readFileSync(join(runDir, name, "manifest.json"), "utf8"));
    if (m.status !== "success") throw new Error(`${runDir}/${name}/manifest.json: status ${m.status}`);
  }
}

/** The pipeline case on the Node line running the bench (`major` null), or on another one, fetched by nodeBinary(). */
function pipelineCase(major) {
  const onOther = major !== null;
  const label = onOther ? ` on Node ${major}` : "";
  return {
    id: onOther ? `pipeline-node${major}` : "pipeline",
    title: `11 empty stage processes${label}`,
    describe: () =>
      `The 11 stages (${STAGES.replace(/,/g, ", ")}), each its own node process started one after another by a driver script` +
      (onOther ? `, all on Node ${major} (the CLI too; from 22.1 the CLI turns on its compile cache, the stages do not inherit it)` : "") +
      ". stagetrace: the driver runs under the real `stagetrace run`, and each stage imports stagetrace and runs an empty runStage " +
      "(every round checks that pipeline.json lists the 11 stages, each a success with its manifest.json). " +
      "Baseline: the same driver and the same stage script without stagetrace. Wall time from spawn to exit. " +
      "Floors: the driver under an empty wrapper process, its stages doing the least a stage could (see the notes).",
    async run() {
      const execPath = onOther ? nodeBinary(major).node : process.execPath;
      if (!execPath) {
        const why = nodeBinary(major).why;
        return {
          measurements: [],
          targets: [{ text: `≤ 1.3× the wall time without stagetrace${label} (reported)`, value: why, pass: null, unavailable: true }],
        };
      }
      if (!existsSync(join(ROOT, "dist/src/cli/main.js")))
        throw new Error("the stagetrace CLI is not built (dist/src/cli/main.js): run `npm run build`");
      const opts = { execPath };
      const driver = child("pipeline.mjs");
      const wrap = child("wrap.mjs");
      const plain = [];
      const st = [];
      const bundled = [];
      const floorApi = [];
      const floorNone = [];
      const work = tempDir("pipeline");
      const bundle = onOther ? null : await bundleForExperiment(join(work, "bundle"));
      let bundleFailed = null;
      try {
        for (let r = 0; r < ROUNDS; r++) {
          plain.push((await runNode(driver, ["plain", STAGES], {}, [], opts)).wallMs);
          // The floors: one empty process around the driver (as `stagetrace run` is one), and stages that do the least.
          for (const [mode, into] of [
            ["floor-api", floorApi],
            ["floor-none", floorNone],
          ]) {
            const fdir = join(work, `${mode}-${r}`);
            into.push((await runNode(wrap, [execPath, driver, mode, STAGES], { OUTPUT_DIR: fdir }, [], opts)).wallMs);
          }
          const runDir = join(work, `run-${r}`);
          const args = ["run", "--run-dir", runDir, "--", execPath, driver, "stagetrace", STAGES];
          st.push((await runNode(CLI, args, { OUTPUT_DIR: runDir }, [], opts)).wallMs);
          checkPipelineRun(runDir);
          if (bundle && !bundleFailed) {
            const bdir = join(work, `bundled-${r}`);
            try {
              bundled.push((await runNode(driver, ["stagetrace", STAGES], { OUTPUT_DIR: bdir, BENCH_STAGETRACE_MODULE: bundle })).wallMs);
            } catch (err) {
              // An experiment, not what the case measures: its failure is noted, the case goes on.
              bundleFailed =
                String(err.message)
                  .split("\n")
                  .find((l) => /Error:/.test(l)) ?? String(err.message).split("\n")[0];
              bundled.length = 0;
            }
          }
        }
      } finally {
        removeDir(work);
      }
      const ratio = summary(st).median / summary(plain).median;
      const measurements = [
        measure("under stagetrace run, stages with runStage", "ms", st),
        measure("the same processes without stagetrace", "ms", plain),
      ];
      const targets = onOther
        ? [{ text: `≤ 1.3× the wall time without stagetrace${label} (reported)`, value: x(ratio), pass: null }]
        : [{ text: "≤ 1.3× the wall time without stagetrace", value: x(ratio), pass: ratio <= 1.3 }];
      const notes = [`Node ${execFileSync(execPath, ["--version"], { encoding: "utf8" }).trim()}`];
      if (bundleFailed)
        notes.push(`experiment left out: stages importing a single-file bundle of stagetrace (rolldown) failed (${bundleFailed.trim()})`);
      if (bundled.length) {
        measurements.push(measure("experiment: stages import a single-file bundle", "ms", bundled));
        notes.push(
          `single-file bundle of stagetrace (rolldown): ${x(summary(bundled).median / summary(plain).median)} of the plain processes. ` +
            "Not shipped: it carries its own copy of the OpenTelemetry SDK and API, a second copy beside an app's own SDK",
        );
      }
      measurements.push(
        measure("floor: stages load only @opentelemetry/api and write their files with node built-ins", "ms", floorApi),
        measure("floor: the same without loading @opentelemetry/api", "ms", floorNone),
      );
      const floorApiRatio = summary(floorApi).median / summary(plain).median;
      const floorNoneRatio = summary(floorNone).median / summary(plain).median;

      // What one process pays just to load the building blocks of a stage, against the budget 1.3x leaves.
      const importer = child("import-only.mjs");
      const modules = ["", "@opentelemetry/api", "pino", "@opentelemetry/sdk-trace-base", "stagetrace"];
      const loads = Object.fromEntries(modules.map((m) => [m, []]));
      for (let r = 0; r < ROUNDS; r++) {
        for (const m of modules) loads[m].push((await runNode(importer, m ? [m] : [], {}, [], opts)).wallMs);
      }
      const empty = summary(loads[""]).median;
      for (const m of modules) measurements.push(measure(m ? `one process importing ${m}` : "one empty node process", "ms", loads[m]));
      const perStage = summary(plain).median / 11;
      const budget = 0.3 * perStage;
      const extra = (m) => `${fmt(summary(loads[m]).median - empty)} ms`;
      notes.push(
        `budget: the plain pipeline costs ${fmt(perStage)} ms per stage, so 1.3× leaves ${fmt(budget)} ms per stage for everything stagetrace does; ` +
          `loading @opentelemetry/api alone adds ${extra("@opentelemetry/api")}, pino ${extra("pino")}, ` +
          `@opentelemetry/sdk-trace-base ${extra("@opentelemetry/sdk-trace-base")}, and stagetrace as a whole ${extra("stagetrace")} over an empty process`,
        `the floor, measured: with one empty process standing in for \`stagetrace run\` and stages that do nothing but load @opentelemetry/api ` +
          `(its CommonJS build) and write a small manifest.json and two log lines with node built-ins, the pipeline takes ${x(floorApiRatio)} of the plain one; ` +
          `the same stages without loading the API take ${x(floorNoneRatio)}`,
      );
      return { measurements, targets, notes };
    },
  };
}

const pipeline = pipelineCase(null);
const pipelineNode24 = pipelineCase(24);

async function exitRound(env) {
  const dir = tempDir("exit");
  try {
    const r = await runNode(child("exit-stage.mjs"), [dir], env);
    const manifest = JSON.parse(readFileSync(join(dir, "exit_check", "manifest.json"), "utf8"));
    const complete =
      manifest.status === "success" &&
      manifest.outputs.length === 1 &&
      countLines(join(dir, "exit_check", "stage.log")) === 1002 &&
      countLines(pipelineLogOf(dir)) === 1002;
    return { ms: r.exitAfterOutputMs, complete, code: r.code };
  } finally {
    removeDir(dir);
  }
}

const exit = {
  id: "exit",
  title: "Exit of a finished stage with the backend down",
  describe: () =>
    "A stage logs 1,000 lines and tracks a file, prints a line and ends on its own. Measured: from that line to the process's exit. " +
    "With OTEL_EXPORTER_OTLP_ENDPOINT refusing (nothing listens) and hanging (accepts, never answers), against no endpoint. " +
    `The bound is exitTimeoutMs, ${EXIT_BOUND_MS} ms by default.`,
  async run() {
    const refusing = await refusingUrl();
    const hang = await startReceiver("hang");
    const none = [];
    const refused = [];
    const hung = [];
    let incomplete = 0;
    let badCode = 0;
    try {
      for (let r = 0; r < Math.max(3, ROUNDS - 2); r++) {
        for (const [list, env] of [
          [none, {}],
          [refused, { OTEL_EXPORTER_OTLP_ENDPOINT: refusing }],
          [hung, { OTEL_EXPORTER_OTLP_ENDPOINT: hang.url }],
        ]) {
          const res = await exitRound({ ...env, BENCH_ALLOW_FAIL: "1" });
          list.push(res.ms);
          if (!res.complete) incomplete++;
          if (res.code !== 0) badCode++;
        }
      }
    } finally {
      await hang.close();
    }
    const worst = (xs) => Math.max(...xs);
    return {
      measurements: [
        measure("no endpoint", "ms", none),
        measure("endpoint refusing", "ms", refused),
        measure("endpoint hanging", "ms", hung),
      ],
      targets: [
        {
          text: `refusing: exit ≤ ${EXIT_BOUND_MS} ms (worst round)`,
          value: `${Math.round(worst(refused))} ms`,
          pass: worst(refused) <= EXIT_BOUND_MS,
        },
        {
          text: `hanging: exit ≤ ${EXIT_BOUND_MS} ms (worst round)`,
          value: `${Math.round(worst(hung))} ms`,
          pass: worst(hung) <= EXIT_BOUND_MS,
        },
        {
          text: "local files complete, exit code 0",
          value: incomplete || badCode ? `${incomplete} incomplete, ${badCode} bad exit codes` : "all rounds",
          pass: incomplete === 0 && badCode === 0,
        },
      ],
    };
  },
};

const spanExport = {
  id: "span-export",
  title: "OTLP span export to an in-process receiver",
  describe: () =>
    `${EXPORT_SPANS.toLocaleString("en-US")} stage spans with 10 file events each, ended in chunks of 1,000 with a flush after each ` +
    "chunk (so no queue overflows), until the receiver in the same process has them all. stagetrace: its own provider and export path " +
    "(batching, counting, trimming; manifest writing switched off on these spans). Baseline: NodeTracerProvider + BatchSpanProcessor + OTLPTraceExporter with defaults.",
  async run() {
    const spans = EXPORT_SPANS;
    const raw = [];
    const st = [];
    for (let r = 0; r < ROUNDS; r++) {
      raw.push((await runNode(child("span-export.mjs"), ["raw", String(spans), "10"])).result.spansPerSec);
      st.push((await runNode(child("span-export.mjs"), ["stagetrace", String(spans), "10"])).result.spansPerSec);
    }
    const ratio = summary(st).median / summary(raw).median;
    return {
      measurements: [measure("stagetrace", "spans/s", st), measure("raw BatchSpanProcessor + OTLPTraceExporter", "spans/s", raw)],
      targets: [{ text: "≥ 0.8× raw", value: x(ratio), pass: ratio >= 0.8 }],
    };
  },
};

const loggingFromStart = {
  id: "logging-start",
  title: "Dual logging from process start",
  describe: () =>
    `The dual logging run of ${LOG_LINES.toLocaleString("en-US")} lines, each in its own process, counted from the process's start ` +
    "(Node's start-up, the imports, the stage's set-up and finalize included: stagetrace until runStage returned, pino until both " +
    "destinations closed) instead of from the first line. Baseline: pino.multistream to the same two files, from process start too.",
  async run() {
    const lines = LOG_LINES;
    const st = [];
    const ms = [];
    const incomplete = [];
    for (let r = 0; r < ROUNDS; r++) {
      for (const [mode, into] of [
        ["stagetrace", st],
        ["multistream", ms],
      ]) {
        const dir = tempDir("log-start");
        try {
          const res = await runNode(child("logging.mjs"), [mode, dir, String(lines)]);
          into.push(res.result.linesPerSecFromStart);
          const complete =
            mode === "stagetrace"
              ? countLines(join(dir, "logging", "stage.log")) === lines + 2 && countLines(pipelineLogOf(dir)) === lines / 2 + 2
              : countLines(join(dir, "stage.log")) === lines && countLines(join(dir, "pipeline.log")) === lines / 2;
          if (!complete) incomplete.push(`${mode} (round ${r + 1})`);
        } finally {
          removeDir(dir);
        }
      }
    }
    const ratio = summary(st).median / summary(ms).median;
    return {
      measurements: [
        measure("stagetrace runStage + getStageLogger(), from process start", "lines/s", st),
        measure("pino.multistream, two files, from process start", "lines/s", ms),
      ],
      targets: [
        { text: "≥ 2× pino.multistream, both from process start", value: x(ratio), pass: ratio >= 2 },
        {
          text: "stagetrace's files complete after exit",
          value: incomplete.length ? `incomplete: ${incomplete.join(", ")}` : "all rounds complete",
          pass: !incomplete.some((i) => i.startsWith("stagetrace")),
        },
      ],
    };
  },
};

const execInRun = {
  id: "exec",
  title: "stagetrace exec -- true inside stagetrace run",
  describe: () =>
    `A driver under \`stagetrace run\` runs, ${EXEC_STAGES} times a round and interleaved: \`true\` bare, an empty node wrapper that ` +
    "spawns `true` and exits with its code (bench/children/wrap.mjs: the floor for any wrapper written for Node), and " +
    "`stagetrace exec --stage exec_<i> -- true` (each checked afterwards for its manifest.json). Wall time of each, spawn to exit, " +
    "measured by the driver; medians over every call of every round.",
  async run() {
    const bare = [];
    const wrapper = [];
    const exec = [];
    let missing = 0;
    for (let r = 0; r < ROUNDS; r++) {
      const runDir = tempDir("exec");
      try {
        const res = await runNode(CLI, [
          "run",
          "--run-dir",
          runDir,
          "--",
          process.execPath,
          child("exec-driver.mjs"),
          String(EXEC_STAGES),
          child("wrap.mjs"),
          CLI,
        ]);
        bare.push(...res.result.bare);
        wrapper.push(...res.result.wrapper);
        exec.push(...res.result.exec);
        for (let i = 0; i < EXEC_STAGES; i++) {
          const m = join(runDir, `exec_${i}`, "manifest.json");
          if (!existsSync(m) || JSON.parse(readFileSync(m, "utf8")).status !== "success") missing++;
        }
      } finally {
        removeDir(runDir);
      }
    }
    const ratio = summary(exec).median / summary(wrapper).median;
    return {
      measurements: [
        measure("stagetrace exec -- true", "ms", exec),
        measure("empty node wrapper spawning true", "ms", wrapper),
        measure("true, bare", "ms", bare),
      ],
      targets: [
        {
          text: "≤ 1.2× the empty node wrapper",
          value: `${x(ratio)} (${fmt(summary(exec).median)} ms vs ${fmt(summary(wrapper).median)} ms; true bare ${fmt(summary(bare).median)} ms)`,
          pass: ratio <= 1.2,
        },
        {
          text: "every exec stage's manifest.json written, status success",
          value: missing ? `${missing} missing or not success` : "all",
          pass: missing === 0,
        },
      ],
    };
  },
};

const pythonStage = {
  id: "python",
  title: "A Python stage inside stagetrace run",
  describe: () =>
    `A driver under \`stagetrace run\` runs, ${PYTHON_STAGES} times a round and interleaved, the same small Python stage ` +
    "(bench/children/python-stage.py: writes a file, logs a line) bare, with the standard library only, and using the stagetrace package " +
    "(StageIO, get_stage_logger, track_output, finalize), installed by pip into a venv in the git-ignored .bench-venvs/. " +
    "Wall time of each, spawn to exit, measured by the driver; the target is on the difference of the medians.",
  async run() {
    const python = pythonWithPackage();
    const bare = [];
    const pkg = [];
    let missing = 0;
    for (let r = 0; r < ROUNDS; r++) {
      const runDir = tempDir("python");
      try {
        const res = await runNode(
          CLI,
          [
            "run",
            "--run-dir",
            runDir,
            "--",
            process.execPath,
            child("python-driver.mjs"),
            python,
            String(PYTHON_STAGES),
            child("python-stage.py"),
          ],
          {},
        );
        bare.push(...res.result.bare);
        pkg.push(...res.result.package);
        for (let i = 0; i < PYTHON_STAGES; i++) {
          const m = join(runDir, `py_${i}`, "manifest.json");
          if (!existsSync(m) || JSON.parse(readFileSync(m, "utf8")).outputs?.length !== 1) missing++;
        }
      } finally {
        removeDir(runDir);
      }
    }
    const extra = summary(pkg).median - summary(bare).median;
    return {
      measurements: [measure("python stage using the stagetrace package", "ms", pkg), measure("the same stage, bare", "ms", bare)],
      targets: [
        {
          text: "≤ 30 ms more per stage than bare",
          value: `${fmt(extra)} ms more (${fmt(summary(pkg).median)} ms vs ${fmt(summary(bare).median)} ms, ${x(summary(pkg).median / summary(bare).median)})`,
          pass: extra <= 30,
        },
        {
          text: "every package stage's manifest.json lists its output",
          value: missing ? `${missing} missing` : "all",
          pass: missing === 0,
        },
      ],
    };
  },
};

/** Whether `stagetrace run` gives its stages an agent (the variable AGENT_ENV names in their environment). */
async function runHasAgent() {
  const dir = tempDir("agent-probe");
  try {
    const r = await runNode(CLI, ["run", "--run-dir", dir, "--", process.execPath, child("agent-probe.mjs")], {
      BENCH_AGENT_ENV: AGENT_ENV,
    });
    return r.result?.agent === true;
  } finally {
    removeDir(dir);
  }
}

/** Not a stagetrace process: the bench's own stage script, driver or probe. */
const isAgentSide = (cmdline) => /bin\/stagetrace|dist\/src\/cli\//.test(cmdline);

function agentCase({ id, title, what, unit, count, mode, check }) {
  return {
    id,
    title,
    describe: () =>
      `One stage (bench/children/records-stage.mjs) that ${what}, then finalize. Through the agent: the stage under \`stagetrace run\`, a thin ` +
      "client handing its records to the agent `run` hosts; counted from the stage's first record until `run` has exited (the agent has written " +
      "manifest.json and the logs). In-process (the baseline): the same script on its own, so the stage's own process does everything; counted " +
      "from the first record until that process has exited. The agent's peak RSS is sampled from /proc (the `stagetrace` processes of the run, " +
      "not the stage).",
    async run() {
      if (!(await runHasAgent())) {
        return {
          measurements: [],
          targets: [
            {
              text: "≥ 0.7× the in-process figure",
              value: `not available: \`stagetrace run\` gives its stages no agent (${AGENT_ENV} unset)`,
              pass: null,
              unavailable: true,
            },
          ],
          notes: ["this case measures once `stagetrace run` hosts the agent"],
        };
      }
      const work = tempDir(id);
      const filesDir = join(work, "files");
      if (mode === "files") {
        mkdirSync(filesDir);
        writeSmallFiles(filesDir, count);
      }
      try {
        const agent = [];
        const inProcess = [];
        const agentRss = [];
        const stageRss = [];
        const inProcessRss = [];
        const bad = [];
        for (let r = 0; r < Math.max(3, ROUNDS - 2); r++) {
          const alone = join(work, `alone-${r}`);
          const a = await runNode(child("records-stage.mjs"), [mode, String(count), filesDir], {
            OUTPUT_DIR: alone,
            BENCH_AGENT_ENV: AGENT_ENV,
          });
          inProcess.push(count / ((a.endEpochMs - a.result.firstRecordEpochMs) / 1000));
          inProcessRss.push(a.result.peakRssMb);
          if (a.result.agent || !check(a.result.manifestPath, count)) bad.push(`in-process round ${r + 1}`);
          removeDir(alone);

          const runDir = join(work, `run-${r}`);
          let sampler;
          const b = await runNode(
            CLI,
            ["run", "--run-dir", runDir, "--", process.execPath, child("records-stage.mjs"), mode, String(count), filesDir],
            { BENCH_AGENT_ENV: AGENT_ENV },
            [],
            { onSpawn: (c) => (sampler = sampleTreePeak(c.pid, isAgentSide)) },
          );
          agentRss.push(sampler.stop());
          stageRss.push(b.result.peakRssMb);
          agent.push(count / ((b.endEpochMs - b.result.firstRecordEpochMs) / 1000));
          if (!b.result.agent || !check(b.result.manifestPath, count)) bad.push(`agent round ${r + 1}`);
          removeDir(runDir);
        }
        const ratio = summary(agent).median / summary(inProcess).median;
        return {
          measurements: [
            measure("through the agent", unit, agent),
            measure("in-process", unit, inProcess),
            measure("the agent's peak RSS (stagetrace run's processes)", "MB", agentRss),
            measure("the stage's peak RSS, through the agent", "MB", stageRss),
            measure("the stage's peak RSS, in-process", "MB", inProcessRss),
          ],
          targets: [
            { text: "≥ 0.7× the in-process figure", value: x(ratio), pass: ratio >= 0.7 },
            {
              text: "every record on disk (manifest / stage.log)",
              value: bad.length ? `missing: ${bad.join(", ")}` : "all rounds",
              pass: bad.length === 0,
            },
          ],
        };
      } finally {
        removeDir(work);
      }
    },
  };
}

const agentFiles = agentCase({
  id: "agent-files",
  title: "Tracked files through the agent",
  what: `tracks ${AGENT_FILES.toLocaleString("en-US")} small files (200 B to 2 KB) with trackInput, hashing on`,
  unit: "files/s",
  count: AGENT_FILES,
  mode: "files",
  check: (manifestPath, n) => {
    const m = JSON.parse(readFileSync(manifestPath, "utf8"));
    return m.status === "success" && m.inputs.length === n && m.inputs.every((f) => f.hash);
  },
});

const agentLogs = agentCase({
  id: "agent-logs",
  title: "Log lines through the agent",
  what: `logs ${AGENT_LOG_LINES.toLocaleString("en-US")} lines through getStageLogger("debug"), half DEBUG half INFO`,
  unit: "lines/s",
  count: AGENT_LOG_LINES,
  mode: "logs",
  check: (manifestPath, n) => countLines(join(manifestPath, "..", "stage.log")) === n + 2,
});

const compileCache = {
  id: "compile-cache",
  title: "The CLI's compile cache on Node 24",
  describe: () =>
    "`stagetrace exec --stage cc -- true` on Node 24, one process at a time: with the compile cache the CLI turns on (in a temporary " +
    "directory given by TMPDIR, filled by one run before the rounds) against NODE_DISABLE_COMPILE_CACHE=1. Interleaved, three calls of each a round. " +
    "Wall time, spawn to exit.",
  async run() {
    const { node, why } = nodeBinary(24);
    if (!node)
      return { measurements: [], targets: [{ text: "compile cache on vs off (reported)", value: why, pass: null, unavailable: true }] };
    const work = tempDir("compile-cache");
    const cacheTmp = join(work, "tmp");
    mkdirSync(cacheTmp);
    const on = [];
    const off = [];
    try {
      const call = (env) =>
        runNode(CLI, ["exec", "--stage", "cc", "--", "true"], { OUTPUT_DIR: join(work, "run"), ...env }, [], { execPath: node });
      await call({ TMPDIR: cacheTmp });
      const filled = existsSync(join(cacheTmp, "node-compile-cache"));
      for (let r = 0; r < ROUNDS * 3; r++) {
        on.push((await call({ TMPDIR: cacheTmp })).wallMs);
        off.push((await call({ TMPDIR: cacheTmp, NODE_DISABLE_COMPILE_CACHE: "1" })).wallMs);
      }
      const saved = summary(off).median - summary(on).median;
      return {
        measurements: [measure("Node 24, compile cache on (warm)", "ms", on), measure("Node 24, compile cache off", "ms", off)],
        targets: [
          {
            text: "compile cache on vs off (reported)",
            value: `${fmt(saved)} ms saved per command (${x(summary(on).median / summary(off).median)})`,
            pass: null,
          },
          { text: "the cache directory was filled", value: filled ? "yes" : "no", pass: filled },
        ],
        notes: [`Node ${execFileSync(node, ["--version"], { encoding: "utf8" }).trim()}`],
      };
    } finally {
      removeDir(work);
    }
  },
};

export const cases = [
  logging,
  loggingOtlp,
  hashing,
  smallFiles,
  reuse,
  emptyStages,
  exit,
  spanExport,
  loggingFromStart,
  execInRun,
  pythonStage,
  agentFiles,
  agentLogs,
  compileCache,
  pipeline,
  pipelineNode24,
];
