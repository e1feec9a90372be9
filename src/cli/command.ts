/**
 * What a subcommand is: its declaration (options, positionals, help text),
 * the streams and environment it runs with, and its entry point.
 */
import type { Writable } from "node:stream";
import type { ParsedArgs } from "./args.js";

/** One option of a command, as its table declares it. */
export interface OptionSpec {
  /** `string`: one value; `list`: a value each time it is given; `boolean`: no value. */
  kind: "string" | "list" | "boolean";
  /** The value's name in the usage line and the help: `NAME`, `PATH[:TYPE]` (not for booleans). */
  value?: string;
  /** One or two sentences for people; `code` in backticks (the help prints it without them). */
  description: string;
  /** What applies when the option is not given, in words (after `env`, when both are set). */
  default?: string;
  /**
   * The environment variables the default is taken from, in order, where one applies: shown in
   * the help and the docs, and read by `optionFromEnv` where the value is the variable's own.
   */
  env?: readonly string[];
  /** The command cannot run without it: shown without brackets in the usage line (the command checks it, after its arguments). */
  required?: boolean;
}

/** A usage line of a command that has several forms (`track input FILE ...`, `track config KEY=VALUE...`). */
export interface CommandForm {
  positionals: string;
  /** The options this form takes, by name. */
  options: readonly string[];
}

/** One command's declaration: parsing, `--help` and docs/cli.md's tables all come from it. */
export interface CommandSpec {
  /** The words after `stagetrace`: `show`, `run begin`. */
  name: string;
  /** One line for the list of commands. */
  summary: string;
  /** The positional arguments as the usage line shows them: `RUN_A RUN_B`, `PATH...`. */
  positionals?: string;
  /** Takes `-- COMMAND [ARGS...]`, which it requires. */
  command?: boolean;
  /** The options, in the order the usage line and the help list them. */
  options: Readonly<Record<string, OptionSpec>>;
  /** The forms of a command with several (else one, from `positionals` and every option). */
  forms?: readonly CommandForm[];
  /** The help before the options: what the command does. */
  description: string;
  /** The help after the options: outputs, exit codes, the rest. */
  details?: string;
}

/** A stream a command prints to: process.stdout or stderr, or any writable a caller gives (`isTTY` decides colour). */
export type CliStream = Writable & { isTTY?: boolean };

/** Where a command prints and what environment it reads: the process's own, or a caller's. */
export interface CliIO {
  stdout: CliStream;
  stderr: CliStream;
  env: NodeJS.ProcessEnv;
}

/** A subcommand's entry: runs on its parsed arguments and returns the exit code. */
export interface Command {
  main(parsed: ParsedArgs, io: CliIO): Promise<number>;
}
