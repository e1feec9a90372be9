// The in-process side of `stagetrace exec` (exec.ts): the OpenTelemetry SDK, the stage and its
// propagation, loaded only when exec's stage is not handed to the run's agent.
export { initTelemetry, shutdownTelemetry } from "../telemetry/telemetry.js";
export { StageIO } from "../stage/stage-io.js";
export { childEnv } from "./child-env.js";
