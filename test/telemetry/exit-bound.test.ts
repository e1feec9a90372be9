// The exit bound's arithmetic. How long a stage takes to exit against a dead
// backend is measured by `npm run bench` ("Dual logging with the OTLP log
// endpoint refusing", "Exit of a finished stage with the backend down"), not here.
import { describe, expect, it } from "vitest";
import { EXIT_MARGIN_MS, LEAST_SHUTDOWN_MS, shutdownBudgetMs } from "../../src/telemetry/exit-bound.js";

describe("shutdownBudgetMs", () => {
  it("is the bound less the margin when nothing of it was spent before shutdown", () => {
    expect(shutdownBudgetMs(3000)).toBe(3000 - EXIT_MARGIN_MS);
    expect(shutdownBudgetMs(3000, 0)).toBe(3000 - EXIT_MARGIN_MS);
  });

  it("counts what exports spent of the bound between the last stage's end and shutdown", () => {
    expect(shutdownBudgetMs(3000, 1400)).toBe(3000 - EXIT_MARGIN_MS - 1400);
  });

  it("leaves the final flush its least time however much was spent, and never more than the bound", () => {
    expect(shutdownBudgetMs(3000, 60_000)).toBe(LEAST_SHUTDOWN_MS);
    expect(shutdownBudgetMs(3000, -500)).toBe(3000 - EXIT_MARGIN_MS);
    expect(shutdownBudgetMs(100, 0)).toBe(0);
  });
});
