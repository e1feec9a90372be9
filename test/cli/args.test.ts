// The argument parser: node:util's parseArgs under a command's declaration.
import { describe, expect, it } from "vitest";
import { optionFromEnv, parseArgs, UsageError } from "../../src/cli/args.js";
import type { CommandSpec } from "../../src/cli/command.js";

const SPEC: CommandSpec = {
  name: "demo",
  summary: "a command for the tests",
  command: true,
  description: "",
  options: {
    stage: { kind: "string", value: "NAME", description: "a string" },
    input: { kind: "list", value: "PATH", description: "a list" },
    resume: { kind: "boolean", description: "a boolean" },
  },
};
const NO_COMMAND: CommandSpec = { ...SPEC, command: false };

function usageError(args: string[], spec = SPEC): string {
  try {
    parseArgs(args, spec);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).code).toBe("USAGE");
    return (err as Error).message;
  }
  throw new UsageError(`no usage error for ${args.join(" ")}`);
}

describe("parseArgs", () => {
  it("takes --flag value and --flag=value, repeats a list, and keeps the words after -- as the command", () => {
    const p = parseArgs(["--stage", "a", "--input=x", "--input", "y", "--resume", "--", "sh", "-c", "--stage z"], SPEC);
    expect(p.strings).toEqual(new Map([["stage", "a"]]));
    expect(p.lists).toEqual(new Map([["input", ["x", "y"]]]));
    expect(p.booleans).toEqual(new Set(["resume"]));
    expect(p.command).toEqual(["sh", "-c", "--stage z"]);
    expect(p.positionals).toEqual([]);
    expect(p.help).toBe(false);
  });

  it("takes a value that starts with a dash, as the CLI always has, and `-` as a positional", () => {
    const p = parseArgs(["--stage", "-3 dB", "-", "x"], NO_COMMAND);
    expect(p.strings.get("stage")).toBe("-3 dB");
    expect(p.positionals).toEqual(["-", "x"]);
    expect(p.command).toBeNull();
  });

  it("keeps the words as given (argv), for the command line a run records", () => {
    expect(parseArgs(["--stage=a", "--", "true"], SPEC).argv).toEqual(["--stage=a", "--", "true"]);
  });

  it("sees -h and --help before --, and wins over every other problem; after -- they are the command's", () => {
    expect(parseArgs(["--bogus", "-h"], SPEC).help).toBe(true);
    const value = parseArgs(["--stage", "--help"], NO_COMMAND); // the value of --stage
    expect(value.help).toBe(false);
    expect(value.strings.get("stage")).toBe("--help");
    const p = parseArgs(["--stage", "a", "--", "ls", "--help"], SPEC);
    expect(p.help).toBe(false);
    expect(p.command).toEqual(["ls", "--help"]);
  });

  it.each([
    [["--bogus", "--", "true"], "unknown option --bogus"],
    [["--bogus=1", "--", "true"], "unknown option --bogus"],
    [["-x", "--", "true"], "unknown option -x"],
    [["--stage"], "--stage needs a value"],
    [["--stage", "--", "true"], "--stage needs a value"],
    [["--input"], "--input needs a value"],
    [["--stage", "a", "--stage=b", "--", "true"], "--stage given twice"],
    [["--resume=yes", "--", "true"], "--resume takes no value"],
    [["true"], "missing -- before the command to run"],
    [["--stage", "a", "--"], "no command after --"],
    [["extra", "--", "true"], 'unexpected argument "extra" before --'],
  ])("refuses %j: %s", (args, message) => {
    expect(usageError(args)).toBe(message);
  });

  it("refuses -- for a command that runs none", () => {
    expect(usageError(["x", "--", "y"], NO_COMMAND)).toBe("takes no command after --");
  });

  it("does not take an option named like an Object property", () => {
    expect(usageError(["--constructor", "--", "true"])).toBe("unknown option --constructor");
    expect(usageError(["--toString=1", "--", "true"])).toBe("unknown option --toString");
  });

  it("takes an option's default from the first non-empty variable its declaration names", () => {
    const spec: CommandSpec = {
      ...SPEC,
      options: { ...SPEC.options, dir: { kind: "string", value: "DIR", description: "", env: ["A", "B"] } },
    };
    expect(optionFromEnv(spec, "dir", { A: "", B: "b" })).toBe("b");
    expect(optionFromEnv(spec, "dir", { A: "a", B: "b" })).toBe("a");
    expect(optionFromEnv(spec, "dir", {})).toBeUndefined();
    expect(optionFromEnv(spec, "stage", { A: "a" })).toBeUndefined();
  });
});
