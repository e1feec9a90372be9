import { context, trace } from "@opentelemetry/api";
import type { StageOptions } from "../types.js";
import { runBody } from "./stage-body.js";
import { StageIO } from "./stage-io.js";

/**
 * Runs `body` as the stage `name`: the stage span is active while it runs,
 * whatever it throws is recorded (status failed), and the stage is finalized
 * once (if the body finalized it itself, that stands). Returns the exit code
 * for the stage: 0 for success or skipped, 1 otherwise. Never exits the process.
 */
export async function runStage(name: string, body: (io: StageIO) => unknown, options: StageOptions = {}): Promise<number> {
  const io = new StageIO(name, options);
  return runBody(io, name, body, (run) => context.with(trace.setSpan(context.active(), io.span), run));
}
