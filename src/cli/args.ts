/**
 * The argument parser of the CLI: node:util's parseArgs splits the words
 * (`--flag value`, `--flag=value`, `-h`, `--` before a command to run), and
 * the command's declaration (command.ts) decides what they may be. Anything
 * it does not declare is a usage error (exit 2) that names the option, never
 * a guess.
 *
 * parseArgs runs in its lenient mode and the checks are made here, from its
 * tokens: its strict mode would refuse a value that starts with a dash
 * (`--reason "-3 dB"`) and word its errors in its own way; these name the
 * option as the CLI always has.
 */
import { parseArgs as splitArgs, type ParseArgsConfig } from "node:util";
import { StagetraceError } from "../errors.js";
import type { CommandSpec } from "./command.js";
import { envValue, type Env } from "../config/env-rules.js";

/** A command line that cannot be run as given: a StagetraceError with code `USAGE`, which the CLI prints with the usage line and exits 2 for. */
export class UsageError extends StagetraceError {
  constructor(message: string) {
    super("USAGE", message);
  }
}

/** A command line as its declaration reads it. */
export interface ParsedArgs {
  /** The words as given (after the command's name). */
  argv: readonly string[];
  strings: Map<string, string>;
  lists: Map<string, string[]>;
  booleans: Set<string>;
  positionals: string[];
  /** The words after `--`, or null when there was no `--`. */
  command: string[] | null;
  /** `-h` or `--help` came before any `--`. */
  help: boolean;
}

/** Parses `args` against `spec`'s options; throws a UsageError that names the option at fault. */
export function parseArgs(args: readonly string[], spec: CommandSpec): ParsedArgs {
  const options: NonNullable<ParseArgsConfig["options"]> = { help: { type: "boolean", short: "h" } };
  for (const [name, o] of Object.entries(spec.options)) options[name] = { type: o.kind === "boolean" ? "boolean" : "string" };
  const { tokens } = splitArgs({ args: [...args], options, strict: false, allowPositionals: true, tokens: true });
  const out: ParsedArgs = {
    argv: args,
    strings: new Map(),
    lists: new Map(),
    booleans: new Set(),
    positionals: [],
    command: null,
    help: false,
  };
  const terminator = tokens.findIndex((t) => t.kind === "option-terminator");
  const before = terminator < 0 ? tokens : tokens.slice(0, terminator);
  // Help wins over every other problem of the line, as `--help` is how to find out what the problem is.
  if (before.some((t) => t.kind === "option" && t.name === "help")) return { ...out, help: true };
  if (terminator >= 0) out.command = args.slice(tokens[terminator]!.index + 1);
  for (const t of before) {
    if (t.kind === "positional") {
      out.positionals.push(t.value);
      continue;
    }
    if (t.kind !== "option") continue;
    const o = Object.hasOwn(spec.options, t.name) ? spec.options[t.name] : undefined;
    if (!o || !t.rawName.startsWith("--")) throw new UsageError(`unknown option ${t.rawName}`);
    const flag = `--${t.name}`;
    if (o.kind === "boolean") {
      if (t.value !== undefined) throw new UsageError(`${flag} takes no value`);
      out.booleans.add(t.name);
      continue;
    }
    // parseArgs takes the next word as the value whatever it is; `--` there means the value is missing.
    if (t.value === undefined || (!t.inlineValue && t.value === "--")) throw new UsageError(`${flag} needs a value`);
    if (o.kind === "string") {
      if (out.strings.has(t.name)) throw new UsageError(`${flag} given twice`);
      out.strings.set(t.name, t.value);
    } else {
      out.lists.set(t.name, [...(out.lists.get(t.name) ?? []), t.value]);
    }
  }
  if (spec.command) requireCommand(out);
  else if (out.command !== null) throw new UsageError("takes no command after --");
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

/**
 * The value an option takes from the environment when it is not given: the
 * first non-blank one of the variables its declaration names (`env`), read
 * by the configuration module's rule (`envValue`).
 */
export function optionFromEnv(spec: CommandSpec, name: string, env: Env): string | undefined {
  for (const variable of spec.options[name]?.env ?? []) {
    const value = envValue(env, variable);
    if (value !== undefined) return value;
  }
  return undefined;
}
