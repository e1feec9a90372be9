import { StagetraceError } from "../errors.js";
import { diffRuns, renderDiffText } from "../report/diff.js";
import { loadRun, type LoadedRun } from "../run/load-run.js";
import { parseArgs, UsageError, type Command } from "./args.js";

const USAGE = "stagetrace diff RUN_A RUN_B [--json]";

const HELP = `Compares two runs of a pipeline, stage by stage (stages are matched by
name, files by their path relative to their run directory, so the runs may
live anywhere): status changes, duration ratio (B / A), config keys added,
removed or changed (values as the manifests hold them; secrets stay
redacted), inputs and outputs whose hash changed, appeared or disappeared,
and new or vanished warnings and errors.

The first line names the first divergence: the first stage (by number) that
changed its outputs from identical inputs, or whose config and outputs both
changed. That is where to look. When no stage meets that, it is the first
stage that differs at all.

Options:
  --json      print the diff as JSON
  -h, --help  this text

Exit code: 0 when nothing differs (durations aside), 1 when something does,
2 on a usage error (including a RUN that is not a run directory).
`;

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
  usage: USAGE,
  help: HELP,
  async main(args) {
    const parsed = parseArgs(args, { json: "boolean" });
    if (parsed.help) {
      process.stdout.write(`Usage: ${USAGE}\n\n${HELP}`);
      return 0;
    }
    if (parsed.command !== null) throw new UsageError("unexpected --");
    if (parsed.positionals.length !== 2) {
      throw new UsageError(
        parsed.positionals.length < 2
          ? "needs two run directories, RUN_A and RUN_B"
          : `unexpected argument ${JSON.stringify(parsed.positionals[2])}`,
      );
    }
    const diff = diffRuns(load("RUN_A", parsed.positionals[0]!), load("RUN_B", parsed.positionals[1]!));
    process.stdout.write(parsed.booleans.has("json") ? `${JSON.stringify(diff, null, 2)}\n` : renderDiffText(diff));
    return diff.differs ? 1 : 0;
  },
};
