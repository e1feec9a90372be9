import { context, trace } from "@opentelemetry/api";
import type { StageOptions } from "../types.js";
import { StageIO } from "./stage-io.js";

/**
 * Runs `body` as the stage `name`: the stage span is active while it runs,
 * whatever it throws is recorded (status failed), and the stage is finalized
 * once (if the body finalized it itself, that stands). Returns the exit code
 * for the stage: 0 for success or skipped, 1 otherwise. Never exits the process.
 */
export async function runStage(name: string, body: (io: StageIO) => unknown, options: StageOptions = {}): Promise<number> {
  const io = new StageIO(name, options);
  try {
    await context.with(trace.setSpan(context.active(), io.span), () => body(io));
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
