import { StagetraceError } from "../errors.js";
import { diffRuns, renderDiffText } from "../report/diff.js";
import { loadRun, type LoadedRun } from "../run/load-run.js";
import { UsageError } from "./args.js";
import type { Command } from "./command.js";

function load(label: string, path: string): LoadedRun {
  let run: LoadedRun;
  try {
    run = loadRun(path);
  } catch (err) {
    if (err instanceof StagetraceError) throw new UsageError(`${label} ${path}: ${err.message}`);
    throw err;
  }
  if (run.stages.length === 0) throw new UsageError(`${label} ${path}: no stage directories with a manifest.json`);
  return run;
}

export const command: Command = {
  async main(parsed, io) {
    if (parsed.positionals.length !== 2) {
      throw new UsageError(
        parsed.positionals.length < 2
          ? "needs two run directories, RUN_A and RUN_B"
          : `unexpected argument ${JSON.stringify(parsed.positionals[2])}`,
      );
    }
    const diff = diffRuns(load("RUN_A", parsed.positionals[0]!), load("RUN_B", parsed.positionals[1]!));
    io.stdout.write(parsed.booleans.has("json") ? `${JSON.stringify(diff, null, 2)}\n` : renderDiffText(diff));
    return diff.differs ? 1 : 0;
  },
};
