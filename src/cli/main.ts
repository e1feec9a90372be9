/**
 * The `stagetrace` command: `main(argv, io)` finds the subcommand, parses
 * its arguments against its declaration and runs it, and returns the exit
 * code. It prints only to `io.stdout` and `io.stderr`, reads `io.env`, and
 * sets no process state, so it runs in-process as well as from
 * bin/stagetrace. Each subcommand is loaded only when it runs, so `show` or
 * `validate` never pay for the OpenTelemetry SDK.
 *
 * `run` and `exec` wrap a child process, and a wrapper must be transparent:
 * while the child runs they forward this process's SIGINT and SIGTERM to
 * it, `run` hands it the real stdio, and both die by the child's signal when
 * one killed it. The telemetry they start reads its own configuration from
 * the process environment. They belong in a process of their own
 * (bin/stagetrace); their tests spawn it.
 */
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { StagetraceError, type StagetraceErrorCode } from "../errors.js";
import { enableCompileCache } from "./compile-cache.js";
import { VERSION } from "../version.js";
import { parseArgs } from "./args.js";
import type { CliIO, Command, CommandSpec } from "./command.js";
import { DIFF, EXEC, REPLAY, REPORT, RUN, RUN_BEGIN, RUN_END, SHOW, TRACK, VALIDATE, COMMAND_SPECS } from "./declarations.js";
import { commandsHelp, helpText, usageText } from "./help.js";

const LOADERS = new Map<CommandSpec, () => Promise<Command>>([
  [RUN, async () => (await import("./run.js")).command],
  [RUN_BEGIN, async () => (await import("./run.js")).beginCommand],
  [RUN_END, async () => (await import("./run.js")).endCommand],
  [EXEC, async () => (await import("./exec.js")).command],
  [TRACK, async () => (await import("./track.js")).command],
  [SHOW, async () => (await import("./show.js")).command],
  [VALIDATE, async () => (await import("./validate.js")).command],
  [REPLAY, async () => (await import("./replay.js")).command],
  [REPORT, async () => (await import("./report.js")).command],
  [DIFF, async () => (await import("./diff.js")).command],
]);

/** The exit code for a command that failed with a StagetraceError: 2 for a usage error, as shells expect, else 1. */
function exitCodeFor(code: StagetraceErrorCode): number {
  return code === "USAGE" ? 2 : 1;
}

/** The declared command `argv` starts with (`run begin` before `run`), and the words after its name. */
function findCommand(argv: readonly string[]): { spec: CommandSpec; args: string[] } | undefined {
  for (const words of [2, 1]) {
    const name = argv.slice(0, words).join(" ");
    const spec = COMMAND_SPECS.find((s) => s.name === name && s.name.split(" ").length === words);
    if (spec) return { spec, args: argv.slice(words) };
  }
  return undefined;
}

/**
 * Runs `stagetrace ARGV...` and returns its exit code: 0, 1 when a command
 * fails, 2 on a usage error. A command's own failures are printed on
 * `io.stderr`; anything else (a bug) rejects.
 */
export async function main(argv: readonly string[], io: CliIO): Promise<number> {
  const [first] = argv;
  if (first === undefined || first === "-h" || first === "--help" || first === "help") {
    io.stdout.write(commandsHelp(COMMAND_SPECS));
    return first === undefined ? 2 : 0;
  }
  if (first === "--version" || first === "-V") {
    io.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const found = findCommand(argv);
  if (!found) {
    const names = COMMAND_SPECS.filter((s) => !s.name.includes(" ")).map((s) => s.name);
    io.stderr.write(`stagetrace: unknown command ${JSON.stringify(first)}; commands: ${names.join(", ")}\n`);
    return 2;
  }
  const { spec, args } = found;
  try {
    const parsed = parseArgs(args, spec);
    if (parsed.help) {
      io.stdout.write(helpText(spec));
      return 0;
    }
    const command = await LOADERS.get(spec)!();
    return await command.main(parsed, io);
  } catch (err) {
    if (!(err instanceof StagetraceError)) throw err;
    io.stderr.write(`stagetrace ${spec.name}: ${err.message}\n`);
    if (err.code === "USAGE") io.stderr.write(`${usageText(spec)}\n`);
    return exitCodeFor(err.code);
  }
}

/** `node dist/src/cli/main.js ARGS...`: this file run as the script itself. */
function runAsScript(): boolean {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

if (runAsScript()) {
  // Before any subcommand's modules load; main() itself sets no process state, so it is done here and in bin/stagetrace.
  enableCompileCache();
  process.exitCode = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });
}
