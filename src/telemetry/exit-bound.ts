// The arithmetic of the exit bound, apart from the shutdown itself: a process that
// exports nothing (a stage whose records go to the run's agent) ends its stages
// by the same rules without loading the exporters.

/** The part of `exitTimeoutMs` kept for the process to wind down after shutdown has given up on the backend. */
export const EXIT_MARGIN_MS = 300;

/**
 * How much of an exit budget the last export gets: its whole timeout when
 * that fits in half the budget, else half the budget. Exports under way
 * when the budget runs out are abandoned (and counted as dropped), not cut
 * short: each one has the full timeout the user set until then.
 */
export function lastExportMs(budgetMs: number, exportTimeoutMs: number): number {
  return Math.min(exportTimeoutMs, Math.floor(budgetMs / 2));
}
