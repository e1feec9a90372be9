// One rule for every STAGETRACE_* setting: an option beats the environment,
// a bad option throws a StagetraceError naming it, a bad environment value
// warns (naming the variable and the value) and the default is used.
import { describe, expect, it } from "vitest";
import { StagetraceError } from "../../src/errors.js";
import {
  DEFAULT_EXIT_TIMEOUT_MS,
  DEFAULT_KILL_GRACE_MS,
  DEFAULT_LEASE_TIMEOUT_S,
  stagetraceSettings,
  stagetraceVariables,
  type StagetraceSettings,
} from "../../src/config/stagetrace-settings.js";

/** For each setting that checks its value: a bad value, and the warning it gives. */
const BAD: Record<string, { variable: string; value: string; warning: string; fallback: unknown }> = {
  hashAlgorithm: {
    variable: "STAGETRACE_HASH",
    value: "nope",
    warning: 'STAGETRACE_HASH="nope" is not "none" or a hash algorithm of node:crypto (e.g. sha256, sha512, sha1, md5); using sha256',
    fallback: "sha256",
  },
  reuseHashes: {
    variable: "STAGETRACE_REUSE_HASHES",
    value: "maybe",
    warning: 'STAGETRACE_REUSE_HASHES="maybe" is not 1 or 0; using 1',
    fallback: true,
  },
  strict: { variable: "STAGETRACE_STRICT", value: "maybe", warning: 'STAGETRACE_STRICT="maybe" is not 1 or 0; using 0', fallback: false },
  logLevel: {
    variable: "STAGETRACE_LOG_LEVEL",
    value: "loud",
    warning: 'STAGETRACE_LOG_LEVEL="loud" is not a log level (debug, info, warn, error); using debug',
    fallback: "debug",
  },
  console: {
    variable: "STAGETRACE_CONSOLE",
    value: "loud",
    warning: `STAGETRACE_CONSOLE="loud" is not off, info or debug; using ${process.stderr.isTTY ? "info" : "off"}`,
    fallback: process.stderr.isTTY ? "info" : "off",
  },
  exitTimeoutMs: {
    variable: "STAGETRACE_EXIT_TIMEOUT_MS",
    value: "soon",
    warning: 'STAGETRACE_EXIT_TIMEOUT_MS="soon" is not a number > 0; using 3000',
    fallback: DEFAULT_EXIT_TIMEOUT_MS,
  },
  otlpMaxEventsPerSpan: {
    variable: "STAGETRACE_OTLP_MAX_EVENTS",
    value: "-1",
    warning: 'STAGETRACE_OTLP_MAX_EVENTS="-1" is not a number > 0; using 1000',
    fallback: 1000,
  },
  heartbeatIntervalMs: {
    variable: "STAGETRACE_HEARTBEAT_INTERVAL_MS",
    value: "x",
    warning: 'STAGETRACE_HEARTBEAT_INTERVAL_MS="x" is not a number >= 0; using 15000',
    fallback: 15_000,
  },
  stallAfterS: {
    variable: "STAGETRACE_STALL_AFTER_S",
    value: "0",
    warning: 'STAGETRACE_STALL_AFTER_S="0" is not a number of seconds > 0; using 1800',
    fallback: 1800,
  },
  expectedDurationS: {
    variable: "STAGETRACE_EXPECTED_DURATION_S",
    value: "soon",
    warning: 'STAGETRACE_EXPECTED_DURATION_S="soon" is not a number of seconds > 0; using none',
    fallback: null,
  },
  metricRunLabels: {
    variable: "STAGETRACE_METRIC_RUN_LABELS",
    value: "maybe",
    warning: 'STAGETRACE_METRIC_RUN_LABELS="maybe" is not 1 or 0; using 0',
    fallback: false,
  },
  leaseTimeoutS: {
    variable: "STAGETRACE_LEASE_TIMEOUT_S",
    value: "-5",
    warning: 'STAGETRACE_LEASE_TIMEOUT_S="-5" is not a number of seconds > 0; using 60',
    fallback: DEFAULT_LEASE_TIMEOUT_S,
  },
  killGraceMs: {
    variable: "STAGETRACE_KILL_GRACE_MS",
    value: "x",
    warning: 'STAGETRACE_KILL_GRACE_MS="x" is not a number of milliseconds >= 0; using 10000',
    fallback: DEFAULT_KILL_GRACE_MS,
  },
  handleSignals: {
    variable: "STAGETRACE_HANDLE_SIGNALS",
    value: "perhaps",
    warning: 'STAGETRACE_HANDLE_SIGNALS="perhaps" is not 1 or 0; using 1',
    fallback: true,
  },
  runAgent: {
    variable: "STAGETRACE_RUN_AGENT",
    value: "maybe",
    warning: 'STAGETRACE_RUN_AGENT="maybe" is not 1 or 0; using 1',
    fallback: true,
  },
};

/** Settings taken as given: paths, names, ids, URL templates (the run directory checks stage names and the pipeline log's place). */
const AS_GIVEN = ["runDir", "stages", "runId", "pipeline", "pipelineLog", "taskUrl", "records", "agent"];

function read(settings: StagetraceSettings, key: string, option?: unknown): unknown {
  return (settings as unknown as Record<string, (o?: unknown) => unknown>)[key]!(option);
}

describe("a bad STAGETRACE_* value", () => {
  it("covers every setting that checks its value", () => {
    expect(Object.keys(stagetraceSettings({})).sort()).toEqual([...Object.keys(BAD), ...AS_GIVEN].sort());
  });

  it.each(Object.entries(BAD))("%s: warns naming the variable and the value, and the default is used", (key, bad) => {
    const warnings: string[] = [];
    const settings = stagetraceSettings({ [bad.variable]: ` ${bad.value} ` }, (m) => warnings.push(m));
    expect(read(settings, key)).toEqual(bad.fallback);
    expect(warnings).toEqual([bad.warning]);
    // Unset or blank: the default, said nothing.
    const quiet: string[] = [];
    expect(
      read(
        stagetraceSettings({ [bad.variable]: "  " }, (m) => quiet.push(m)),
        key,
      ),
    ).toEqual(bad.fallback);
    expect(quiet).toEqual([]);
  });
});

describe("stagetraceSettings", () => {
  it("takes the console default from the process it is for: INFO and up on a terminal, nothing otherwise", () => {
    expect(stagetraceSettings({}, () => {}, { stderrTTY: true }).console()).toBe("info");
    expect(stagetraceSettings({}, () => {}, { stderrTTY: false }).console()).toBe("off");
    // A value set beats the default either way.
    expect(stagetraceSettings({ STAGETRACE_CONSOLE: "debug" }, () => {}, { stderrTTY: false }).console()).toBe("debug");
  });

  it("hands on the STAGETRACE_* variables and OUTPUT_DIR of an environment, and nothing else", () => {
    expect(stagetraceVariables({ STAGETRACE_STRICT: "1", OUTPUT_DIR: "/r", PATH: "/bin", OTEL_SERVICE_NAME: "s" })).toEqual({
      STAGETRACE_STRICT: "1",
      OUTPUT_DIR: "/r",
    });
  });

  it("reads the environment record it is given, not process.env", () => {
    const s = stagetraceSettings({
      STAGETRACE_KILL_GRACE_MS: "250",
      STAGETRACE_STAGES: " a, b ,,c",
      OUTPUT_DIR: "",
      STAGETRACE_RUN_DIR: "/r",
    });
    expect(s.killGraceMs()).toBe(250);
    expect(s.stages()).toEqual(["a", "b", "c"]);
    // OUTPUT_DIR first, but a blank one counts as unset.
    expect(s.runDir()).toBe("/r");
    expect(stagetraceSettings({ OUTPUT_DIR: "/o", STAGETRACE_RUN_DIR: "/r" }).runDir()).toBe("/o");
    const t = stagetraceSettings({ STAGETRACE_EXIT_TIMEOUT_MS: "2500.7", STAGETRACE_HASH: "SHA512", STAGETRACE_CONSOLE: "1" });
    expect([t.exitTimeoutMs(), t.hashAlgorithm(), t.console()]).toEqual([2500, "sha512", "info"]);
  });

  it("lets an option beat the environment, and throws on a bad option, naming it", () => {
    const s = stagetraceSettings({ STAGETRACE_EXIT_TIMEOUT_MS: "9000", STAGETRACE_STRICT: "1" }, () => {
      throw new Error("no warning expected");
    });
    expect(s.exitTimeoutMs(1000)).toBe(1000);
    expect(s.strict(false)).toBe(false);
    expect(s.strict()).toBe(true);
    for (const [key, option, message] of [
      ["exitTimeoutMs", 0, "exitTimeoutMs must be a number > 0, got 0"],
      ["otlpMaxEventsPerSpan", Number.NaN, "otlpMaxEventsPerSpan must be a number > 0, got NaN"],
      ["heartbeatIntervalMs", -1, "heartbeatIntervalMs must be a number >= 0, got -1"],
      [
        "hashAlgorithm",
        "rot13",
        'hashAlgorithm must be "none" or a hash algorithm of node:crypto (e.g. sha256, sha512, sha1, md5), got "rot13"',
      ],
    ] as const) {
      let thrown: unknown;
      try {
        read(s, key, option);
      } catch (err) {
        thrown = err;
      }
      expect(thrown, key).toBeInstanceOf(StagetraceError);
      expect((thrown as StagetraceError).code).toBe("INVALID_OPTION");
      expect((thrown as StagetraceError).message).toBe(message);
    }
  });
});
