import type { StageStatus } from "../types.js";

/** What running a stage's body needs of its stage object (StageIO, or the stage of a process whose records go to the run's agent). */
export interface BodyStage {
  readonly isFinalized: boolean;
  readonly status: StageStatus | undefined;
  finalize(status: StageStatus, options?: { reason?: string }): Promise<void>;
  addError(message: string, error?: unknown): void;
  getStageLogger(): { error(fields: object, message: string): void };
}

/**
 * The part of `runStage` after the stage object exists: runs `body` (inside
 * `enter`, which makes the stage span active where there is one), records
 * what it throws, finalizes once, and returns the exit code for the stage.
 * Apart from run-stage.ts so that it loads no OpenTelemetry package.
 */
export async function runBody<S extends BodyStage>(
  io: S,
  name: string,
  body: (io: S) => unknown,
  enter: (run: () => unknown) => unknown,
): Promise<number> {
  try {
    await enter(() => body(io));
    if (!io.isFinalized) await io.finalize("success");
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    io.getStageLogger().error({ err: error }, `stage ${name} threw: ${message}`);
    if (!io.isFinalized) {
      io.addError(message, error);
      await io.finalize("failed", { reason: message });
    } else {
      process.stderr.write(`stagetrace: stage ${name} threw after it was finalized (${message}); its status stands\n`);
    }
  }
  return io.status === "success" || io.status === "skipped" ? 0 : 1;
}
