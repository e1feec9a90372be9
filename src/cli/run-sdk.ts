// What `stagetrace run` loads once its pipeline is running (src/cli/run.ts):
// the OpenTelemetry SDK and everything that needs it, in one import.
export { trace } from "@opentelemetry/api";
export { initTelemetry, shutdownTelemetry } from "../telemetry/telemetry.js";
export { beginRun, endRun } from "./run-session.js";
export { StageAgent } from "../agent/stage-agent.js";
export { childEnv } from "./child-env.js";
