import { join, resolve } from "node:path";
import { StagetraceError } from "../errors.js";
import { writeFileAtomic } from "../fs/atomic-write.js";
import { loadRun, type LoadedRun } from "../run/load-run.js";
import { renderReport } from "../report/report.js";
import { optionFromEnv, UsageError } from "./args.js";
import { REPORT } from "./declarations.js";
import type { Command } from "./command.js";

function load(path: string): LoadedRun {
  try {
    return loadRun(path);
  } catch (err) {
    if (err instanceof StagetraceError) throw new UsageError(`${path}: not a run directory (${err.message})`);
    throw err;
  }
}

export const command: Command = {
  async main(parsed, io) {
    if (parsed.positionals.length !== 1) {
      throw new UsageError(
        parsed.positionals.length === 0 ? "missing RUN_DIR" : `unexpected argument ${JSON.stringify(parsed.positionals[1])}`,
      );
    }
    const run = load(parsed.positionals[0]!);
    const jaegerUrl = parsed.strings.get("jaeger-url") ?? optionFromEnv(REPORT, "jaeger-url", io.env);
    if (jaegerUrl !== undefined && !/^https?:\/\/[^\s]+$/i.test(jaegerUrl)) {
      throw new UsageError(`--jaeger-url must be an http(s) URL, got ${JSON.stringify(jaegerUrl)}`);
    }
    const out = resolve(parsed.strings.get("out") ?? join(run.runDir, "report.html"));
    const html = renderReport(run, { jaegerUrl });
    writeFileAtomic(out, html); // a StagetraceError (exit 1) that names the path when it cannot
    io.stdout.write(`${out}\n`);
    return 0;
  },
};
