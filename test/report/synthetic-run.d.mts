/** Writes a synthetic run directory (see synthetic-run.mjs) and returns it. */
export function writeSyntheticRun(runDir: string, options?: { stages?: number; files?: number; failAt?: number }): string;
