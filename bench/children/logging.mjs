// One logging run in its own process: `node logging.mjs <mode> <dir> <lines>`.
// Half the lines DEBUG, half INFO, trace ids on every line; DEBUG+ to one
// file and INFO+ to another. Prints {ms} from the first line to both files
// being complete (as far as the library lets the caller know), and
// {fromStartMs}: the same moment counted from the process's start (Node's
// start-up, the imports and the logger's set-up included).
import { once } from "node:events";
import { join } from "node:path";

const [mode, dir, linesArg] = process.argv.slice(2);
const N = Number(linesArg);
const ids = { trace_id: "4bf92f3577b34da6a3ce929d0e0e4736", span_id: "00f067aa0ba902b7", trace_flags: 1 };

async function stagetrace() {
  process.env.OUTPUT_DIR = dir;
  const { runStage } = await import("stagetrace");
  let t0 = 0;
  await runStage("logging", (io) => {
    const log = io.getStageLogger("debug");
    t0 = performance.now();
    for (let i = 0; i < N; i++) {
      if (i & 1) log.info({ i }, "an info line");
      else log.debug({ i }, "a debug line");
    }
  });
  return performance.now() - t0; // runStage has finalized: both files are written
}

async function multistream() {
  const { default: pino } = await import("pino");
  const streams = [
    { level: "debug", stream: pino.destination(join(dir, "stage.log")) },
    { level: "info", stream: pino.destination(join(dir, "pipeline.log")) },
  ];
  await Promise.all(streams.map((s) => once(s.stream, "ready")));
  const log = pino({ level: "debug", mixin: () => ({ ...ids }) }, pino.multistream(streams));
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    if (i & 1) log.info({ i }, "an info line");
    else log.debug({ i }, "a debug line");
  }
  await Promise.all(
    streams.map((s) => {
      const closed = once(s.stream, "close");
      s.stream.end();
      return closed;
    }),
  );
  return performance.now() - t0;
}

async function winston() {
  const { default: w } = await import("winston");
  const transports = [
    new w.transports.File({ filename: join(dir, "stage.log"), level: "debug" }),
    new w.transports.File({ filename: join(dir, "pipeline.log"), level: "info" }),
  ];
  const log = w.createLogger({
    level: "debug",
    format: w.format.combine(w.format.timestamp(), w.format.json()),
    defaultMeta: ids,
    transports,
  });
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    if (i & 1) log.info("an info line", { i });
    else log.debug("a debug line", { i });
  }
  const finished = transports.map((t) => once(t, "finish"));
  log.end();
  await Promise.all(finished);
  // The file transport's finish fires before its file stream has flushed; wait for that too.
  await Promise.all(transports.map((t) => (t._dest && !t._dest.closed ? once(t._dest, "close").catch(() => {}) : null)));
  return performance.now() - t0;
}

async function noop() {
  const { default: pino } = await import("pino");
  const log = pino({ level: "debug", mixin: () => ({ ...ids }) }, { write() {} });
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    if (i & 1) log.info({ i }, "an info line");
    else log.debug({ i }, "a debug line");
  }
  return performance.now() - t0;
}

const modes = { stagetrace, multistream, winston, noop };
const ms = await modes[mode]();
const fromStartMs = performance.now(); // performance.timeOrigin is the process's start
process.stdout.write(
  JSON.stringify({ ms, linesPerSec: N / (ms / 1000), fromStartMs, linesPerSecFromStart: N / (fromStartMs / 1000) }) + "\n",
);
