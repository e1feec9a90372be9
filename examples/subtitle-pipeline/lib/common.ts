// Helpers shared by the example's TypeScript stages.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The example's data files (fixtures, dictionary): SUBTITLE_PIPELINE_DATA, else next to the sources. */
export function dataFile(name: string): string {
  const dir = process.env.SUBTITLE_PIPELINE_DATA || fileURLToPath(new URL("../../../../examples/subtitle-pipeline/data/", import.meta.url));
  return join(dir, name);
}

/**
 * `FAIL_STAGE=<name>` makes that stage fail, to show what a failure leaves
 * behind. `HANG_STAGE=<name>` makes it hang: it stays alive but stops making
 * progress until it is sent a signal, which is what the stalled-stage alert is for.
 */
export async function failIfAsked(stage: string): Promise<void> {
  if (process.env.FAIL_STAGE === stage) throw new Error(`FAIL_STAGE=${stage}: failing on purpose`);
  if (process.env.HANG_STAGE === stage) {
    await new Promise<never>(() => {
      setInterval(() => {}, 60_000);
    });
  }
}

/** A whitespace-separated track file with a header line (`t voice word`): one record per line. */
export function readTrack(path: string): Record<string, string>[] {
  const [header, ...rows] = readFileSync(path, "utf8").trim().split("\n");
  const names = (header ?? "").trim().split(/\s+/);
  return rows.map((row) => {
    const cells = row.trim().split(/\s+/);
    return Object.fromEntries(names.map((n, i) => [n, cells[i] ?? ""]));
  });
}

/** Rounds to milliseconds, so that times written to JSON are stable. */
export const ms = (seconds: number): number => Math.round(seconds * 1000) / 1000;

export interface Metadata {
  title: string;
  year: number;
  duration_s: number;
  frame_s: number;
  language: string;
}

export interface Glossary {
  terms: { term: string; source: string; note?: string }[];
}

export interface Word {
  word: string;
  start: number;
  end: number;
}

export interface AlignedSegment {
  id: number;
  start: number;
  end: number;
  text: string;
  words: Word[];
}
