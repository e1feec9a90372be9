import { resolveHashAlgorithm } from "../fs/file-fingerprint.js";
import { envValue, fromEnv, fromOption, numberAtLeast, refuse, yesNo, type Env, type Refused, type Warn } from "./env-rules.js";

/** Default of `exitTimeoutMs` / `STAGETRACE_EXIT_TIMEOUT_MS`. */
export const DEFAULT_EXIT_TIMEOUT_MS = 3000;
/** Default of `otlpMaxEventsPerSpan` / `STAGETRACE_OTLP_MAX_EVENTS`. */
export const DEFAULT_OTLP_MAX_EVENTS = 1000;
/** Default of `heartbeatIntervalMs` / `STAGETRACE_HEARTBEAT_INTERVAL_MS` (with an endpoint). */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 15_000;
/** How long a stage may go without progress before the stalled-stage alert fires (`STAGETRACE_STALL_AFTER_S`). */
export const DEFAULT_STALL_AFTER_S = 1800;
/** Default of `STAGETRACE_LEASE_TIMEOUT_S`. */
export const DEFAULT_LEASE_TIMEOUT_S = 60;
/** How long a command has, after the first SIGINT or SIGTERM it was sent, before it gets SIGKILL (`STAGETRACE_KILL_GRACE_MS`). */
export const DEFAULT_KILL_GRACE_MS = 10_000;

/** The variable naming the records file of the stage protocol, set by `stagetrace exec` for its command. */
export const RECORDS_ENV = "STAGETRACE_RECORDS";

/** The variable naming the spool directory of the run's agent, set by `stagetrace run` for its command when the agent is on. */
export const AGENT_ENV = "STAGETRACE_AGENT";

/** The log levels of a stage's logger. */
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** What a stage also prints on stderr (`STAGETRACE_CONSOLE`). */
export type ConsoleMode = "off" | "info" | "debug";

/**
 * One setting: the variables it is read from (the first one set wins), its
 * default, and the parser its value (and the option, when it has one) must
 * pass.
 */
interface Setting<T, O> {
  variables: readonly string[];
  fallback: (process: SettingsProcess) => T;
  /** The default as a bad value's warning says it, when `String(fallback())` would not. */
  fallbackText?: () => string;
  parse: (raw: string) => T | Refused;
  /** The option in code that beats the variables, and what it must be. */
  option?: { name: string; parse: (value: O) => T | Refused };
}

function setting<T, O = never>(s: Setting<T, O>): Setting<T, O> {
  return s;
}

const asText = (raw: string): string => raw;
const positiveWhole = numberAtLeast(0, { above: true });
const floorOf =
  (parse: (raw: string | number) => number | Refused) =>
  (raw: string | number): number | Refused => {
    const n = parse(raw);
    return typeof n === "number" ? Math.floor(n) : n;
  };
const seconds = numberAtLeast(0, { above: true, unit: "seconds" });

/** A log level name, `warning` taken for `warn`. */
export function logLevelOf(raw: string): LogLevel | Refused {
  const level = raw.toLowerCase().replace(/^warning$/, "warn");
  return (LOG_LEVELS as readonly string[]).includes(level) ? (level as LogLevel) : refuse("a log level (debug, info, warn, error)");
}

/**
 * Every `STAGETRACE_*` variable stagetrace's TypeScript side reads (and
 * `OUTPUT_DIR`), with its option where it has one; a CLI option's default
 * from a variable its declaration names is read by `optionFromEnv` through
 * `envValue`. docs/configuration.md
 * lists each (a test holds the two together).
 */
const SETTINGS = {
  /** The run directory as the environment gives it (`resolveRunDir` adds the option and the default). */
  runDir: setting<string | undefined>({ variables: ["OUTPUT_DIR", "STAGETRACE_RUN_DIR"], fallback: () => undefined, parse: asText }),
  /** The pipeline's stage list, each name trimmed (the run directory checks the names). */
  stages: setting<string[] | null>({
    variables: ["STAGETRACE_STAGES"],
    fallback: () => null,
    parse: (raw) =>
      raw
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s !== ""),
  }),
  runId: setting<string | undefined>({ variables: ["STAGETRACE_RUN_ID"], fallback: () => undefined, parse: asText }),
  pipeline: setting<string | undefined>({ variables: ["STAGETRACE_PIPELINE"], fallback: () => undefined, parse: (raw) => raw.trim() }),
  pipelineLog: setting<string | undefined>({ variables: ["STAGETRACE_PIPELINE_LOG"], fallback: () => undefined, parse: asText }),
  taskUrl: setting<string | undefined>({ variables: ["STAGETRACE_TASK_URL"], fallback: () => undefined, parse: asText }),
  /** The records file of the stage protocol (set by `stagetrace exec`). */
  records: setting<string | undefined>({ variables: [RECORDS_ENV], fallback: () => undefined, parse: asText }),
  /** The spool directory of the run's agent (set by `stagetrace run` when `runAgent` is on). */
  agent: setting<string | undefined>({ variables: [AGENT_ENV], fallback: () => undefined, parse: asText }),
  /** Whether `stagetrace run` hosts its stages' StageIOs (the agent channel of docs/protocol.md): on unless `0`. */
  runAgent: setting<boolean>({ variables: ["STAGETRACE_RUN_AGENT"], fallback: () => true, fallbackText: () => "1", parse: yesNo }),
  hashAlgorithm: setting<string, string>({
    variables: ["STAGETRACE_HASH"],
    fallback: () => "sha256",
    parse: (raw) => hashAlgorithmOf(raw),
    option: { name: "hashAlgorithm", parse: (value) => hashAlgorithmOf(value) },
  }),
  reuseHashes: setting<boolean>({ variables: ["STAGETRACE_REUSE_HASHES"], fallback: () => true, fallbackText: () => "1", parse: yesNo }),
  strict: setting<boolean, boolean>({
    variables: ["STAGETRACE_STRICT"],
    fallback: () => false,
    fallbackText: () => "0",
    parse: yesNo,
    option: { name: "strict", parse: (value) => value },
  }),
  logLevel: setting<LogLevel>({ variables: ["STAGETRACE_LOG_LEVEL"], fallback: () => "debug", parse: logLevelOf }),
  /** Unset: INFO and up when stderr is a terminal (a first run does not look dead), nothing when it is not. */
  console: setting<ConsoleMode>({
    variables: ["STAGETRACE_CONSOLE"],
    fallback: (p) => (p.stderrTTY ? "info" : "off"),
    parse: (raw) => {
      const v = raw.toLowerCase();
      if (v === "debug") return "debug";
      if (v === "0" || v === "off") return "off";
      if (v === "info" || v === "1" || v === "on") return "info";
      return refuse("off, info or debug");
    },
  }),
  exitTimeoutMs: setting<number, number>({
    variables: ["STAGETRACE_EXIT_TIMEOUT_MS"],
    fallback: () => DEFAULT_EXIT_TIMEOUT_MS,
    parse: floorOf(positiveWhole),
    option: { name: "exitTimeoutMs", parse: floorOf(positiveWhole) },
  }),
  otlpMaxEventsPerSpan: setting<number, number>({
    variables: ["STAGETRACE_OTLP_MAX_EVENTS"],
    fallback: () => DEFAULT_OTLP_MAX_EVENTS,
    parse: floorOf(positiveWhole),
    option: { name: "otlpMaxEventsPerSpan", parse: floorOf(positiveWhole) },
  }),
  heartbeatIntervalMs: setting<number, number>({
    variables: ["STAGETRACE_HEARTBEAT_INTERVAL_MS"],
    fallback: () => DEFAULT_HEARTBEAT_INTERVAL_MS,
    parse: floorOf(numberAtLeast(0)),
    option: { name: "heartbeatIntervalMs", parse: floorOf(numberAtLeast(0)) },
  }),
  stallAfterS: setting<number>({ variables: ["STAGETRACE_STALL_AFTER_S"], fallback: () => DEFAULT_STALL_AFTER_S, parse: seconds }),
  expectedDurationS: setting<number | null>({ variables: ["STAGETRACE_EXPECTED_DURATION_S"], fallback: () => null, parse: seconds }),
  /** Heartbeat labels that make one series per stage run (run id, trace id, stage directory, host, pid). */
  metricRunLabels: setting<boolean>({
    variables: ["STAGETRACE_METRIC_RUN_LABELS"],
    fallback: () => false,
    fallbackText: () => "0",
    parse: yesNo,
  }),
  leaseTimeoutS: setting<number>({ variables: ["STAGETRACE_LEASE_TIMEOUT_S"], fallback: () => DEFAULT_LEASE_TIMEOUT_S, parse: seconds }),
  killGraceMs: setting<number>({
    variables: ["STAGETRACE_KILL_GRACE_MS"],
    fallback: () => DEFAULT_KILL_GRACE_MS,
    parse: numberAtLeast(0, { unit: "milliseconds" }),
  }),
  handleSignals: setting<boolean, boolean>({
    variables: ["STAGETRACE_HANDLE_SIGNALS"],
    fallback: () => true,
    fallbackText: () => "1",
    parse: yesNo,
    option: { name: "handleSignals", parse: (value) => value },
  }),
};

function hashAlgorithmOf(raw: string): string | Refused {
  try {
    return resolveHashAlgorithm(raw, "");
  } catch {
    return refuse(`"none" or a hash algorithm of node:crypto (e.g. sha256, sha512, sha1, md5)`);
  }
}

type Settings = typeof SETTINGS;
type ValueOf<S> = S extends Setting<infer T, infer _O> ? T : never;
type OptionOf<S> = S extends Setting<infer _T, infer O> ? O : never;

/**
 * stagetrace's settings, each resolved when asked for: the option when one
 * is given (a bad one throws a StagetraceError, `INVALID_OPTION`, naming
 * it), else the first of its variables that is set (a bad value warns,
 * naming the variable and the value, and the default is used), else the
 * default.
 */
export type StagetraceSettings = { readonly [K in keyof Settings]: (option?: OptionOf<Settings[K]>) => ValueOf<Settings[K]> };

/**
 * What a default may depend on of the process the settings are for: by
 * default this process; the run's agent passes a hosted stage's own.
 */
export interface SettingsProcess {
  /** Whether the process's stderr is a terminal. */
  stderrTTY?: boolean;
}

/**
 * The settings `env` gives (by default `process.env`); `warn` hears of each
 * bad value (pass a warn-once function); `of` is the process they are for
 * when it is not this one.
 */
export function stagetraceSettings(env: Env = process.env, warn: Warn = () => {}, of: SettingsProcess = {}): StagetraceSettings {
  // Read when a setting needs it: the first look at process.stderr creates its stream (about a millisecond).
  const proc: SettingsProcess = {
    get stderrTTY() {
      return of.stderrTTY ?? process.stderr.isTTY;
    },
  };
  const out: Record<string, (option?: unknown) => unknown> = {};
  for (const [key, s] of Object.entries(SETTINGS) as [string, Setting<unknown, unknown>][]) {
    out[key] = (option?: unknown) => {
      if (option !== undefined && s.option) return fromOption(option, s.option.name, s.option.parse);
      const name = s.variables.find((v) => envValue(env, v) !== undefined);
      if (name === undefined) return s.fallback(proc);
      const fallback = s.fallback(proc);
      return fromEnv(
        env,
        name,
        fallback,
        s.parse,
        warn,
        s.fallbackText?.() ??
          (typeof fallback === "object" || fallback === undefined ? "none" : String(fallback as string | number | boolean)),
      );
    };
  }
  return out as unknown as StagetraceSettings;
}

/** Every variable the settings read, in the order of the table. */
export const SETTING_VARIABLES: readonly string[] = Object.values(SETTINGS).flatMap((s) => s.variables);

/** The variables that shape a process's resource besides its host and process: `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`. */
export function resourceVariables(env: Env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of ["OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES"]) if (env[k] !== undefined) out[k] = env[k];
  return out;
}

/**
 * The `STAGETRACE_*` variables (and `OUTPUT_DIR`) of `env`, as given: what a
 * stage process hands the run's agent, whose StageIO resolves its settings
 * from them.
 */
export function stagetraceVariables(env: Env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && (k.startsWith("STAGETRACE_") || k === "OUTPUT_DIR")) out[k] = v;
  return out;
}
