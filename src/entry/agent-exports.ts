import { createRequire } from "node:module";
import { AgentStage, agentRunStage, stayInProcess } from "../agent/agent-client.js";
import type * as Full from "../index.js";

// The package's exports in a stage process under `stagetrace run` (package-entry.ts): the
// same names as src/index.ts, but StageIO and runStage hand the stage to the run's agent,
// and what needs the OpenTelemetry SDK is loaded when it is first used, not at import.

export { StagetraceError } from "../errors.js";
export { ATTR, FILE_ATTR, FILE_EVENT, WARNING_EVENT, EXCEPTION_EVENT, STAGE_STATUSES, MANIFEST_FILE } from "../conventions.js";

const load = createRequire(import.meta.url);

/** The in-process entry, loaded (synchronously: `require` of an ES module) on first use of what needs it. */
function full(): typeof Full {
  return load("../index.js") as typeof Full;
}

/** A stand-in for a class of the in-process entry: `new`, statics, `instanceof` and `extends` reach the real one, loaded on first use. */
function lazyClass<C extends object>(get: () => C): C {
  return new Proxy(function () {} as unknown as C, {
    construct: (_t, args, newTarget) => Reflect.construct(get() as never, args, newTarget) as object,
    apply: (_t, self, args): unknown => Reflect.apply(get() as never, self, args),
    get: (_t, key): unknown => Reflect.get(get(), key),
    has: (_t, key) => Reflect.has(get(), key),
    getPrototypeOf: () => Reflect.getPrototypeOf(get()),
  });
}

export const StageIO = AgentStage as unknown as typeof Full.StageIO;
export const runStage = agentRunStage;
export const loadRun: typeof Full.loadRun = (...a) => full().loadRun(...a);
export const stageState: typeof Full.stageState = (...a) => full().stageState(...a);
export const manifestFromSpan: typeof Full.manifestFromSpan = (...a) => full().manifestFromSpan(...a);
export const isStageSpan: typeof Full.isStageSpan = (...a) => full().isStageSpan(...a);
export const spanFromManifest: typeof Full.spanFromManifest = (...a) => full().spanFromManifest(...a);
export const spansFromOtlpJson: typeof Full.spansFromOtlpJson = (...a) => full().spansFromOtlpJson(...a);
export const spansFromOtlpJsonText: typeof Full.spansFromOtlpJsonText = (...a) => full().spansFromOtlpJsonText(...a);
export const contextFromEnv: typeof Full.contextFromEnv = (...a) => full().contextFromEnv(...a);
export const stageSpanProcessors: typeof Full.stageSpanProcessors = (...a) => full().stageSpanProcessors(...a);
export const shutdownTelemetry: typeof Full.shutdownTelemetry = (...a) => full().shutdownTelemetry(...a);
// A process that sets up stagetrace's telemetry itself keeps its stages in-process, under that telemetry.
export const initTelemetry: typeof Full.initTelemetry = (...a) => {
  stayInProcess();
  return full().initTelemetry(...a);
};
export const Telemetry = lazyClass(() => {
  stayInProcess();
  return full().Telemetry;
});
export const StageManifest = lazyClass(() => full().StageManifest);
export const ManifestExporter = lazyClass(() => full().ManifestExporter);
export const ManifestSpanProcessor = lazyClass(() => full().ManifestSpanProcessor);
