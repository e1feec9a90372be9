/**
 * The `stagetrace` command. Each subcommand is loaded only when it runs, so
 * `show` or `validate` never pay for the OpenTelemetry SDK.
 */
import { StagetraceError, type StagetraceErrorCode } from "../errors.js";
import { enableCompileCache } from "./compile-cache.js";
import { VERSION } from "../version.js";
import type { Command } from "./args.js";

// Before any subcommand's modules load (bin/stagetrace has already done it; a second call changes nothing).
enableCompileCache();

const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  run: { summary: "run a pipeline command as one trace and one run directory", load: async () => (await import("./run.js")).command },
  exec: { summary: "run any command as a stage (manifest.json, stage.log, span)", load: async () => (await import("./exec.js")).command },
  track: {
    summary: "report a file, config, warning, error or status to the stage around it",
    load: async () => (await import("./track.js")).command,
  },
  show: { summary: "summarise a run, a stage or a manifest", load: async () => (await import("./show.js")).command },
  validate: {
    summary: "check manifests and pipeline.json against the JSON Schemas",
    load: async () => (await import("./validate.js")).command,
  },
  replay: { summary: "rebuild manifests from an OTLP/JSON trace export", load: async () => (await import("./replay.js")).command },
  report: { summary: "write a self-contained HTML report of a run", load: async () => (await import("./report.js")).command },
  diff: { summary: "what changed between two runs, and where it started", load: async () => (await import("./diff.js")).command },
};

const HELP = `stagetrace: every stage of a batch pipeline as an OpenTelemetry span, with manifest.json and logs on disk

Usage: stagetrace <command> [options]

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(9)} ${c.summary}`)
  .join("\n")}

Run "stagetrace <command> --help" for a command's options.
`;

/** The exit code for a command that failed with a StagetraceError: 2 for a usage error, as shells expect, else 1. */
function exitCodeFor(code: StagetraceErrorCode): number {
  return code === "USAGE" ? 2 : 1;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === "-h" || name === "--help" || name === "help") {
    process.stdout.write(HELP);
    return name === undefined ? 2 : 0;
  }
  if (name === "--version" || name === "-V") {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const entry = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!entry) {
    process.stderr.write(`stagetrace: unknown command ${JSON.stringify(name)}; commands: ${Object.keys(COMMANDS).join(", ")}\n`);
    return 2;
  }
  const command = await entry.load();
  if (args.includes("--help") || args.includes("-h")) {
    const beforeDashes = args.indexOf("--") < 0 ? args : args.slice(0, args.indexOf("--"));
    if (beforeDashes.includes("--help") || beforeDashes.includes("-h")) {
      process.stdout.write(`Usage: ${command.usage}\n\n${command.help}`);
      return 0;
    }
  }
  try {
    return await command.main(args);
  } catch (err) {
    if (!(err instanceof StagetraceError)) throw err;
    process.stderr.write(`stagetrace ${name}: ${err.message}\n`);
    if (err.code === "USAGE") process.stderr.write(`Usage: ${command.usage}\n`);
    return exitCodeFor(err.code);
  }
}

process.exitCode = await main(process.argv.slice(2));
