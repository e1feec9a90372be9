import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { join } from "node:path";
import { StringDecoder } from "node:string_decoder";
import { MANIFEST_FILE } from "../conventions.js";
import { StagetraceError } from "../errors.js";
import { writeFileAtomic } from "../fs/atomic-write.js";
import { errnoText } from "../fs/errno-text.js";
import type { ManifestTelemetry } from "../types.js";

/**
 * The one module that writes `manifest.json` (a test in
 * test/architecture/ holds every other file to reading it). The live
 * manifests (`ManifestExporter`), the replayed ones (`stagetrace replay`)
 * and the seed-style `StageManifest.save()` all go through here.
 */

/** The manifest of the stage whose directory is `stageDir`. */
export function manifestPathIn(stageDir: string): string {
  return join(stageDir, MANIFEST_FILE);
}

/**
 * Writes a manifest's text (whole, or in pieces as `manifestTextFromSpan`
 * yields them) atomically: a reader sees the old file or the new one.
 * Throws a StagetraceError (`IO_ERROR`) that names the path.
 */
export function writeManifestText(path: string, text: string | Iterable<string>): void {
  writeFileAtomic(path, text);
}

/** `\n  "telemetry": ` at the top level: nested keys are indented deeper, and a newline in a string is escaped. */
const TELEMETRY_KEY = '\n  "telemetry": ';
/** The end of a manifest whose last key is `telemetry`. */
const DOCUMENT_END = "\n}\n";
/** How much of the file's end is read to find its telemetry section (the section is a few hundred bytes). */
const TAIL_BYTES = 64 * 1024;
/** The head of the file is copied in chunks this size, so a 40 MB manifest is never held whole. */
const COPY_BYTES = 1024 * 1024;

/**
 * Replaces the `telemetry` section, the last key of a manifest written by
 * `writeManifestText`, with `telemetry`, atomically. The rest of the file is
 * copied byte for byte, never parsed: the result is the text the manifest
 * would have had with this section in the first place. Throws a
 * StagetraceError (`IO_ERROR`) naming the path when the file cannot be read
 * or written, or does not end with a telemetry section.
 */
export function writeManifestTelemetry(path: string, telemetry: ManifestTelemetry): void {
  let fd: number;
  let size: number;
  let tail: Buffer;
  try {
    fd = openSync(path, "r");
  } catch (err) {
    throw new StagetraceError("IO_ERROR", `could not read ${path} (${errnoText(err)}) to record its telemetry`, { cause: err });
  }
  try {
    try {
      size = fstatSync(fd).size;
      tail = Buffer.alloc(Math.min(size, TAIL_BYTES));
      readFully(fd, tail, size - tail.length);
    } catch (err) {
      throw new StagetraceError("IO_ERROR", `could not read ${path} (${errnoText(err)}) to record its telemetry`, { cause: err });
    }
    const at = tail.lastIndexOf(TELEMETRY_KEY);
    if (at < 0 || !tail.subarray(tail.length - DOCUMENT_END.length).equals(Buffer.from(DOCUMENT_END))) {
      throw new StagetraceError("IO_ERROR", `${path} does not end with a telemetry section; its telemetry is not recorded`);
    }
    // Nested one level down, the section gets the indentation it has in the whole document.
    const section = TELEMETRY_KEY + JSON.stringify(telemetry, null, 2).replaceAll("\n", "\n  ") + DOCUMENT_END;
    writeFileAtomic(path, withSection(fd, size - tail.length + at, section));
  } finally {
    closeSync(fd);
  }
}

/** The first `length` bytes of the open file as text, a chunk at a time, then `section`. */
function* withSection(fd: number, length: number, section: string): Generator<string> {
  const decoder = new StringDecoder("utf8");
  const chunk = Buffer.alloc(Math.min(length, COPY_BYTES));
  for (let at = 0; at < length;) {
    const n = Math.min(chunk.length, length - at);
    readFully(fd, chunk.subarray(0, n), at);
    at += n;
    yield decoder.write(chunk.subarray(0, n));
  }
  yield decoder.end() + section;
}

function readFully(fd: number, into: Buffer, position: number): void {
  for (let done = 0; done < into.length;) {
    const n = readSync(fd, into, done, into.length - done, position + done);
    if (n === 0) throw new StagetraceError("IO_ERROR", "the file got shorter while it was read");
    done += n;
  }
}
