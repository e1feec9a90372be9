import { StagetraceError } from "../errors.js";
import { segmentProblem } from "../run/run-directory.js";
import { readFileSafely } from "../fs/safe-read.js";
import { basename, join, resolve } from "node:path";
import { ATTR } from "../conventions.js";
import { isStageSpan, manifestTextFromSpan } from "../manifest/manifest-from-span.js";
import { manifestPathIn, writeManifestText } from "../manifest/manifest-file.js";
import { spansFromOtlpJsonText } from "../otlp/otlp-json.js";
import { UsageError } from "./args.js";
import type { Command } from "./command.js";

export const command: Command = {
  async main(parsed, io) {
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
      io.stderr.write(`stagetrace replay: ${err.message}\n`);
      return 1;
    }
    let spans;
    try {
      spans = spansFromOtlpJsonText(text);
    } catch (err) {
      io.stderr.write(`stagetrace replay: ${file}: ${(err as Error).message}\n`);
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
        io.stderr.write(
          `stagetrace replay: span ${span.spanContext().spanId}: ${ATTR.stageDir} ${JSON.stringify(span.attributes[ATTR.stageDir])} ${problem}; not replayed\n`,
        );
        refused++;
        continue;
      }
      const path = manifestPathIn(join(outDir, dirName));
      if (written.has(path)) {
        io.stderr.write(
          `stagetrace replay: two stage spans for ${dirName} (spans ${written.get(path)} and ${span.spanContext().spanId}); the later one wins\n`,
        );
      }
      writeManifestText(path, manifestTextFromSpan(span)); // makes the stage directory too
      written.set(path, span.spanContext().spanId);
    }
    io.stdout.write(
      `replayed ${written.size} stage manifest${written.size === 1 ? "" : "s"} from ${spans.length} spans into ${resolve(out)}\n`,
    );
    if (refused > 0) return 1;
    if (stageSpans.length === 0) {
      io.stderr.write(`stagetrace replay: ${file} holds no stage spans (spans with ${ATTR.stageDir})\n`);
      return 1;
    }
    return 0;
  },
};
