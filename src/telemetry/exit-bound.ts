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

/** The least a shutdown gets however much of the bound was spent before it: time for the final flush and the log worker's end. */
export const LEAST_SHUTDOWN_MS = 300;

/**
 * What a shutdown may wait for the backend: `exitTimeoutMs` less the
 * margin, less what was spent of the bound before the shutdown began (a
 * process ending on its own counts from the end of its last stage, and
 * exports may have kept its event loop busy until now), but never less than
 * LEAST_SHUTDOWN_MS (nor more than the whole budget).
 */
export function shutdownBudgetMs(exitTimeoutMs: number, spentMs = 0): number {
  const full = Math.max(0, exitTimeoutMs - EXIT_MARGIN_MS);
  return Math.min(full, Math.max(full - Math.max(0, spentMs), LEAST_SHUTDOWN_MS));
}
