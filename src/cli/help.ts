/**
 * The usage lines and `--help` text of a command, and the list of commands,
 * made from the commands' declarations (declarations.ts).
 */
import type { CommandSpec, OptionSpec } from "./command.js";

const WIDTH = 80;

/** `--name NAME`, `--resume`: an option as it is typed. */
export function optionSyntax(name: string, o: OptionSpec): string {
  return o.kind === "boolean" ? `--${name}` : `--${name} ${o.value ?? "VALUE"}`;
}

/** An option in a usage line: `[--out FILE]`, `[--meta KEY=VALUE]...`, `--stage NAME` when required. */
function usageWord(name: string, o: OptionSpec): string {
  const word = o.required ? optionSyntax(name, o) : `[${optionSyntax(name, o)}]`;
  return o.kind === "list" ? `${word}...` : word;
}

/** The command's usage lines: one per form. */
export function usageLines(spec: CommandSpec): string[] {
  const forms = spec.forms ?? [{ positionals: spec.positionals ?? "", options: Object.keys(spec.options) }];
  return forms.map((f) =>
    [
      `stagetrace ${spec.name}`,
      f.positionals,
      ...f.options.map((n) => usageWord(n, spec.options[n]!)),
      spec.command ? "-- COMMAND [ARGS...]" : "",
    ]
      .filter((w) => w !== "")
      .join(" "),
  );
}

/** The usage block: `Usage: <first form>`, the other forms under it. */
export function usageText(spec: CommandSpec): string {
  return usageLines(spec)
    .map((l, i) => `${i === 0 ? "Usage: " : "       "}${l}`)
    .join("\n");
}

/** The option's default, in words: its environment variables first, then `default`. */
export function defaultText(o: OptionSpec): string | undefined {
  const parts = [...(o.env ?? []).map((e) => `\`${e}\``), ...(o.default !== undefined ? [o.default] : [])];
  return parts.length === 0 ? undefined : parts.join(", else ");
}

/** What the help prints for an option: its description, `(required)` or its default. */
export function optionMeaning(o: OptionSpec): string {
  const dflt = defaultText(o);
  const note = o.required ? " (required)" : dflt !== undefined ? ` (default: ${dflt})` : "";
  return `${o.description}${note}`;
}

const plain = (text: string) => text.replace(/`/g, "");

/** `text` in lines of at most `width` characters, each after `indent` (the first after `first`). */
function wrap(text: string, first: string, indent: string, width = WIDTH): string {
  const lines: string[] = [];
  let line = first;
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const start = line === first || line === indent;
    if (!start && line.length + 1 + word.length > width) {
      lines.push(line);
      line = indent + word;
    } else line += (start ? "" : " ") + word;
  }
  lines.push(line);
  return lines.join("\n");
}

/** The text `stagetrace <command> --help` prints. */
export function helpText(spec: CommandSpec): string {
  const rows: [string, string][] = Object.entries(spec.options).map(([n, o]) => [optionSyntax(n, o), plain(optionMeaning(o))]);
  rows.push(["-h, --help", "this text"]);
  const col = Math.min(Math.max(...rows.map(([s]) => s.length)) + 2, 28);
  const options = rows.map(([syntax, meaning]) => {
    const head = `  ${syntax}`;
    const pad = " ".repeat(col + 2);
    const first = head.length + 2 > col + 2 ? `${head}\n${pad}` : head.padEnd(col + 2);
    return wrap(meaning, first, pad);
  });
  const parts = [usageText(spec), spec.description, `Options:\n${options.join("\n")}`];
  if (spec.details) parts.push(spec.details);
  return parts.join("\n\n") + "\n";
}

/** The top-level help: every command with its summary. */
export function commandsHelp(specs: readonly CommandSpec[]): string {
  const width = Math.max(...specs.map((s) => s.name.length)) + 2;
  return `stagetrace: every stage of a batch pipeline as an OpenTelemetry span, with manifest.json and logs on disk

Usage: stagetrace <command> [options]

Commands:
${specs.map((s) => `  ${s.name.padEnd(width)}${s.summary}`).join("\n")}

Run "stagetrace <command> --help" for a command's options.
`;
}
