// --help and the usage lines, made from each command's declaration.
import { describe, expect, it } from "vitest";
import { COMMAND_SPECS, REPORT, RUN, TRACK } from "../../src/cli/declarations.js";
import { commandsHelp, helpText, usageLines } from "../../src/cli/help.js";
import { runCliInProcess } from "../support/cli.js";

describe("--help", () => {
  it.each(COMMAND_SPECS.map((s) => [s.name, s] as const))("%s: every declared option, its value and its meaning", async (name, spec) => {
    const r = await runCliInProcess([...name.split(" "), "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(helpText(spec));
    const from = r.stdout.indexOf("\nOptions:\n");
    const options = r.stdout.slice(from, r.stdout.indexOf("\n\n", from + 1));
    for (const [opt, o] of Object.entries(spec.options)) {
      const syntax = o.kind === "boolean" ? `--${opt}` : `--${opt} ${o.value}`;
      expect(options, syntax).toMatch(new RegExp(`^ {2}${syntax.replace(/[[\]|.]/g, "\\$&")}( |$)`, "m"));
      // The first words of its description (without the backticks the docs use).
      expect(options.replace(/\s+/g, " ")).toContain(o.description.replace(/`/g, "").split(" ").slice(0, 4).join(" "));
      for (const variable of o.env ?? []) expect(options, `${opt} ${variable}`).toContain(variable);
    }
    for (const line of r.stdout.split("\n").slice(usageLines(spec).length)) expect(line.length, line).toBeLessThanOrEqual(80);
  });

  it("usage lines list every option of a form, required ones without brackets, lists with ...", () => {
    expect(usageLines(RUN)).toEqual([
      "stagetrace run [--name NAME] [--run-dir DIR] [--stages a,b,c] [--resume] [--summary] -- COMMAND [ARGS...]",
    ]);
    expect(usageLines(REPORT)).toEqual(["stagetrace report RUN_DIR [--out FILE] [--jaeger-url URL]"]);
    expect(usageLines(TRACK)[0]).toBe("stagetrace track input|output FILE [--type T] [--meta KEY=VALUE]...");
  });

  it("the default and its environment variable are in the option's line", () => {
    expect(helpText(REPORT)).toMatch(
      /--jaeger-url URL +Jaeger's base URL; trace ids link to <URL>\/trace\/<id>\n +\(default: STAGETRACE_JAEGER_URL\)/,
    );
  });

  it("stagetrace --help lists every command with its summary", () => {
    const text = commandsHelp(COMMAND_SPECS);
    for (const s of COMMAND_SPECS) expect(text).toContain(`  ${s.name.padEnd(11)}${s.summary}\n`);
  });
});
