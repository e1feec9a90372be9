import { join, resolve } from "node:path";
import { StagetraceError } from "../errors.js";
import { writeFileAtomic } from "../fs/atomic-write.js";
import { loadRun, type LoadedRun } from "../run/load-run.js";
import { renderReport } from "../report/report.js";
import { parseArgs, UsageError, type Command } from "./args.js";
import { stagetraceSettings } from "../config/stagetrace-settings.js";

const USAGE = "stagetrace report RUN_DIR [--out FILE] [--jaeger-url URL]";

const HELP = `Writes one self-contained HTML file about a run: a banner that says which
stage failed and why (its reason and the first lines of its error), its
header (pipeline, run id, status, start, duration, trace id), a timeline of
the stages coloured by status, wall time, CPU and peak RSS per stage, the
file lineage graph (which stage produced each file and which stages
consumed it), and per stage its config, files, warnings, errors, resources
and its stage.log (the end of it, filterable by level and text). The page fetches
nothing: open it from disk, offline. Runs still in progress and killed
stages (running, abandoned) are shown as such.

Options:
  --out FILE        where to write it (default: <run dir>/report.html)
  --jaeger-url URL  Jaeger's base URL; trace ids link to <URL>/trace/<id>
                    (default: the STAGETRACE_JAEGER_URL environment variable)
  -h, --help        this text

Prints the report's path. Exit code: 0, 1 when it cannot be written, 2 on a
usage error.
`;

function load(path: string): LoadedRun {
  try {
    return loadRun(path);
  } catch (err) {
    if (err instanceof StagetraceError) throw new UsageError(`${path}: not a run directory (${err.message})`);
    throw err;
  }
}

export const command: Command = {
  usage: USAGE,
  help: HELP,
  async main(args) {
    const parsed = parseArgs(args, { out: "string", "jaeger-url": "string" });
    if (parsed.help) {
      process.stdout.write(`Usage: ${USAGE}\n\n${HELP}`);
      return 0;
    }
    if (parsed.command !== null) throw new UsageError("unexpected --");
    if (parsed.positionals.length !== 1) {
      throw new UsageError(
        parsed.positionals.length === 0 ? "missing RUN_DIR" : `unexpected argument ${JSON.stringify(parsed.positionals[1])}`,
      );
    }
    const run = load(parsed.positionals[0]!);
    const jaegerUrl = parsed.strings.get("jaeger-url") ?? stagetraceSettings(process.env).jaegerUrl();
    if (jaegerUrl !== undefined && !/^https?:\/\/[^\s]+$/i.test(jaegerUrl)) {
      throw new UsageError(`--jaeger-url must be an http(s) URL, got ${JSON.stringify(jaegerUrl)}`);
    }
    const out = resolve(parsed.strings.get("out") ?? join(run.runDir, "report.html"));
    const html = renderReport(run, { jaegerUrl });
    writeFileAtomic(out, html); // a StagetraceError (exit 1) that names the path when it cannot
    process.stdout.write(`${out}\n`);
    return 0;
  },
};
