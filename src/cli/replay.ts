import { StagetraceError } from "../errors.js";
import { segmentProblem } from "../run/run-directory.js";
import { readFileSafely } from "../fs/safe-read.js";
import { basename, join, resolve } from "node:path";
import { ATTR } from "../conventions.js";
import { isStageSpan, manifestTextFromSpan } from "../manifest/manifest-from-span.js";
import { manifestPathIn, writeManifestText } from "../manifest/manifest-file.js";
import { spansFromOtlpJsonText } from "../otlp/otlp-json.js";
import { parseArgs, UsageError, type Command } from "./args.js";

const USAGE = "stagetrace replay TRACE.json --out DIR";

const HELP = `Rebuilds the manifest.json of every stage span in an OTLP/JSON trace
export (one ExportTraceServiceRequest, an array of them, or JSON Lines as the
OpenTelemetry Collector's file exporter writes them) into DIR/<stage dir>/.

The manifests are built by the same function that writes them live
(manifestFromSpan), so a replayed manifest equals the live one, timestamps
and paths included, except its "telemetry" section: how the live process's
export went is not in the trace, so a replayed manifest says state "local".
Spans that were trimmed for OTLP (STAGETRACE_OTLP_MAX_EVENTS) replay with
the files that reached the backend.

Options:
  --out DIR   where to write (required; created if missing)
`;

export const command: Command = {
  usage: USAGE,
  help: HELP,
  async main(args) {
    const parsed = parseArgs(args, { out: "string" });
    if (parsed.command !== null) throw new UsageError("replay takes no command after --");
    if (parsed.positionals.length !== 1) throw new UsageError("expected one TRACE.json");
    const out = parsed.strings.get("out");
    if (!out) throw new UsageError("--out DIR is required");
    const file = resolve(parsed.positionals[0]!);
    let text: string;
    try {
      // Never blocks on a FIFO or a device, never reads without bound.
      text = readFileSafely(file);
    } catch (err) {
      if (!(err instanceof StagetraceError)) throw err;
      process.stderr.write(`stagetrace replay: ${err.message}\n`);
      return 1;
    }
    let spans;
    try {
      spans = spansFromOtlpJsonText(text);
    } catch (err) {
      process.stderr.write(`stagetrace replay: ${file}: ${(err as Error).message}\n`);
      return 1;
    }
    const stageSpans = spans.filter(isStageSpan);
    const written = new Map<string, string>();
    const outDir = resolve(out);
    let refused = 0;
    for (const span of stageSpans) {
      // The trace names the stage directory; only its last segment is used, and only when it is one plain name.
      const dirName = basename(String(span.attributes[ATTR.stageDir]));
      const problem = segmentProblem(dirName);
      if (problem !== null) {
        process.stderr.write(
          `stagetrace replay: span ${span.spanContext().spanId}: ${ATTR.stageDir} ${JSON.stringify(span.attributes[ATTR.stageDir])} ${problem}; not replayed\n`,
        );
        refused++;
        continue;
      }
      const path = manifestPathIn(join(outDir, dirName));
      if (written.has(path)) {
        process.stderr.write(
          `stagetrace replay: two stage spans for ${dirName} (spans ${written.get(path)} and ${span.spanContext().spanId}); the later one wins\n`,
        );
      }
      writeManifestText(path, manifestTextFromSpan(span)); // makes the stage directory too
      written.set(path, span.spanContext().spanId);
    }
    process.stdout.write(
      `replayed ${written.size} stage manifest${written.size === 1 ? "" : "s"} from ${spans.length} spans into ${resolve(out)}\n`,
    );
    if (refused > 0) return 1;
    if (stageSpans.length === 0) {
      process.stderr.write(`stagetrace replay: ${file} holds no stage spans (spans with ${ATTR.stageDir})\n`);
      return 1;
    }
    return 0;
  },
};
