/**
 * A small, strict argument parser for the CLI: `--flag value`,
 * `--flag=value`, repeatable flags, and `--` before a command to run.
 * Anything it does not know is a usage error (exit 2), never a guess.
 */

import { StagetraceError } from "../errors.js";

/** A command line that cannot be run as given: a StagetraceError with code `USAGE`, which the CLI prints with the usage line and exits 2 for. */
export class UsageError extends StagetraceError {
  constructor(message: string) {
    super("USAGE", message);
  }
}

export type FlagKind = "string" | "list" | "boolean";

export interface ParsedArgs {
  strings: Map<string, string>;
  lists: Map<string, string[]>;
  booleans: Set<string>;
  positionals: string[];
  /** The words after `--`, or null when there was no `--`. */
  command: string[] | null;
  help: boolean;
}

export function parseArgs(args: readonly string[], spec: Record<string, FlagKind>): ParsedArgs {
  const out: ParsedArgs = { strings: new Map(), lists: new Map(), booleans: new Set(), positionals: [], command: null, help: false };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") {
      out.command = args.slice(i + 1);
      break;
    }
    if (arg === "-h" || arg === "--help") {
      out.help = true;
      continue;
    }
    if (!arg.startsWith("-") || arg === "-") {
      out.positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = arg.startsWith("--") ? arg.slice(2, eq < 0 ? undefined : eq) : "";
    const kind = spec[name];
    if (!kind) throw new UsageError(`unknown option ${eq < 0 ? arg : arg.slice(0, eq)}`);
    if (kind === "boolean") {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      out.booleans.add(name);
      continue;
    }
    let value: string;
    if (eq >= 0) value = arg.slice(eq + 1);
    else {
      const next = args[i + 1];
      if (next === undefined || next === "--") throw new UsageError(`--${name} needs a value`);
      value = next;
      i++;
    }
    if (kind === "string") {
      if (out.strings.has(name)) throw new UsageError(`--${name} given twice`);
      out.strings.set(name, value);
    } else {
      out.lists.set(name, [...(out.lists.get(name) ?? []), value]);
    }
  }
  return out;
}

/** The command after `--`, which `run` and `exec` require. */
export function requireCommand(parsed: ParsedArgs): string[] {
  if (parsed.command === null) throw new UsageError("missing -- before the command to run");
  if (parsed.command.length === 0) throw new UsageError("no command after --");
  if (parsed.positionals.length > 0) {
    throw new UsageError(`unexpected argument ${JSON.stringify(parsed.positionals[0])} before --`);
  }
  return parsed.command;
}

/** A CLI subcommand: its one-line usage, its help text, and what it does. */
export interface Command {
  usage: string;
  help: string;
  /** Returns the process exit code. */
  main(args: string[]): Promise<number>;
}
