/**
 * Every option and environment variable, as docs/configuration.md lists
 * them: `test/config/configuration-table.test.ts` holds the two together,
 * and fails on a `STAGETRACE_*` variable the code or the Python package
 * names that is not here.
 */

/** One row of the table: the option in code (or `—`), its variables (or `—`), and its default. */
export interface ConfigurationRow {
  option: string;
  variables: string;
  default: string;
}

/** The rows, in the order the page lists them. */
export const CONFIGURATION_ROWS: readonly ConfigurationRow[] = [
  {
    option: "`outputBase` (run directory)",
    variables: "`OUTPUT_DIR`, then `STAGETRACE_RUN_DIR`",
    default: "`./out/run-<start time>`",
  },
  {
    option: "`stages` (the pipeline's stage list)",
    variables: "`STAGETRACE_STAGES` (`a,b,c`)",
    default: "`stages` in `<run dir>/stagetrace.json`, else none",
  },
  {
    option: "`stageNumber` (the `NN` of `NN_<name>`)",
    variables: "—",
    default: "the stage's position in `stages`; without one the directory is the bare name",
  },
  {
    option: "`enableManifest`",
    variables: "—",
    default: "`true`",
  },
  {
    option: "`pipelineName` (`cicd.pipeline.name`)",
    variables: "`STAGETRACE_PIPELINE`",
    default: "none",
  },
  {
    option: "`hashAlgorithm` (`sha256`, any `node:crypto` hash, or `none` for the whole stage)",
    variables: "`STAGETRACE_HASH`",
    default: "`sha256`",
  },
  {
    option: "`{ hash: false }`, last argument of `trackInput`/`trackOutput`, or in `trackIntermediate`'s options (one file)",
    variables: "—",
    default: "hashed",
  },
  {
    option: "— (take an unchanged file's hash from the stage that wrote it: `on`, `off`)",
    variables: "`STAGETRACE_REUSE_HASHES`",
    default: "`on`",
  },
  {
    option: "`getStageLogger(level)`",
    variables: "`STAGETRACE_LOG_LEVEL`",
    default: "`debug`",
  },
  {
    option: "— (also print log lines to stderr: `off`, `info`, `debug`)",
    variables: "`STAGETRACE_CONSOLE`",
    default: "unset: `info` when stderr is a terminal, else `off`",
  },
  {
    option: "— (the run id shared by the run's stages)",
    variables: "`STAGETRACE_RUN_ID`",
    default: "set by the run's first stage",
  },
  {
    option: "— (`cicd.pipeline.task.run.url.full` of each stage span: a URL template with `{run_id}`, `{stage}`, `{task_run_id}`)",
    variables: "`STAGETRACE_TASK_URL`",
    default: "the `file://` URL of the stage's `manifest.json`",
  },
  {
    option: "— (the pipeline log's path, relative to the run directory; one outside the run warns and is replaced by the default)",
    variables: "`STAGETRACE_PIPELINE_LOG`",
    default: "`logs/99_pipeline_<run start>.log`",
  },
  {
    option:
      "`strict` (a stage directory, log or manifest stagetrace cannot write fails the stage, see [reliability](reliability.md#disk-faults))",
    variables: "`STAGETRACE_STRICT` (`1`, `0`)",
    default: "off: stderr says so once, with path and errno, and the stage goes on",
  },
  {
    option: "`telemetry.otlpEndpoint` (base URL; `/v1/traces`, `/v1/metrics`, `/v1/logs` appended)",
    variables: "`OTEL_EXPORTER_OTLP_ENDPOINT`",
    default: "none: local files only, no network",
  },
  {
    option: "`telemetry.otlpTracesEndpoint`, `telemetry.otlpLogsEndpoint`",
    variables: "`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, `OTEL_EXPORTER_OTLP_LOGS_ENDPOINT` (and `..._METRICS_ENDPOINT`)",
    default: "`<endpoint>/v1/<signal>`",
  },
  {
    option: "`telemetry.otlpHeaders` (all signals)",
    variables: "`OTEL_EXPORTER_OTLP_HEADERS` and the per-signal variables",
    default: "none",
  },
  {
    option: "`telemetry.otlpProtocol` (all signals: `http/protobuf`, `http/json`, `grpc`)",
    variables: "`OTEL_EXPORTER_OTLP_<SIGNAL>_PROTOCOL`, then `OTEL_EXPORTER_OTLP_PROTOCOL`",
    default: "`http/protobuf`",
  },
  {
    option: "`telemetry.serviceName`",
    variables: "`OTEL_SERVICE_NAME`, then `service.name` in `OTEL_RESOURCE_ATTRIBUTES`",
    default: "`stagetrace`",
  },
  {
    option: "— (every other `OTEL_*` variable)",
    variables: "see [OpenTelemetry variables](#opentelemetry-variables)",
    default: "—",
  },
  {
    option: "`telemetry.exitTimeoutMs` (longest wait for the backend at exit)",
    variables: "`STAGETRACE_EXIT_TIMEOUT_MS`",
    default: "`3000`",
  },
  {
    option: "`telemetry.otlpMaxEventsPerSpan` (file events per span sent over OTLP)",
    variables: "`STAGETRACE_OTLP_MAX_EVENTS`",
    default: "`1000`",
  },
  {
    option:
      "`telemetry.heartbeatIntervalMs` (an open stage's heartbeat metrics, to `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` or `<endpoint>/v1/metrics`; `0` is off)",
    variables: "`STAGETRACE_HEARTBEAT_INTERVAL_MS`",
    default: "`15000` with an endpoint, else off",
  },
  {
    option:
      "— (seconds an open stage may go without progress, a log line or a tracked file, before the stalled-stage alert; sent with the heartbeat)",
    variables: "`STAGETRACE_STALL_AFTER_S`",
    default: "`1800`",
  },
  {
    option: "— (seconds a stage expects to take at most, for the slow-stage alert; sent with the heartbeat)",
    variables: "`STAGETRACE_EXPECTED_DURATION_S`",
    default: "none (the alert then uses 6 hours)",
  },
  {
    option:
      "— (also label the heartbeat metrics with the run id, trace id, stage directory, host and pid: `on`, `off`; off because each run makes new series, see [observability](observability.md#what-reaches-prometheus))",
    variables: "`STAGETRACE_METRIC_RUN_LABELS`",
    default: "`off`: pipeline, stage and stage number only",
  },
  {
    option: "`telemetry.registerGlobal` (global provider and context manager)",
    variables: "—",
    default: "`true`",
  },
  {
    option:
      "— (seconds a running stage's lease holds without renewal: a reader on another host, or in another pid namespace, counts the stage `abandoned` only after this; the stage renews it every quarter of it; see [schedulers](schedulers.md#hosts-and-leases))",
    variables: "`STAGETRACE_LEASE_TIMEOUT_S`",
    default: "`60`",
  },
  {
    option:
      "— (`stagetrace run` and `exec`: how long a command has after the first forwarded SIGINT/SIGTERM before SIGKILL; a second signal sends SIGKILL at once)",
    variables: "`STAGETRACE_KILL_GRACE_MS`",
    default: "`10000`",
  },
  {
    option:
      "`telemetry.handleSignals` (on SIGINT/SIGTERM while a stage is open: finalize it `interrupted`, export, then die by the same signal; see [reliability](reliability.md#sigint-and-sigterm))",
    variables: "`STAGETRACE_HANDLE_SIGNALS` (`1`, `0`)",
    default: "`true`",
  },
  {
    option: "`telemetry.tracerProvider` (an app's own SDK provider)",
    variables: "—",
    default: "none: stagetrace runs its own",
  },
  {
    option: "— (parent trace context)",
    variables: "`TRACEPARENT`, `TRACESTATE`, `BAGGAGE`",
    default: "the run span in the run state (`run begin`, `stagetrace run`), else a new trace",
  },
  {
    option: "— (the records file of the [stage protocol](protocol.md), for a command run by `stagetrace exec`)",
    variables: "`STAGETRACE_RECORDS`",
    default: "set by `exec`; `stagetrace track` and the Python package need it",
  },
  {
    option:
      "— (`stagetrace run` hosts its stages' records in its own process, the [agent channel](protocol.md#the-agent-channel); `0`: each stage runs its telemetry itself)",
    variables: "`STAGETRACE_RUN_AGENT` (`1`, `0`)",
    default: "`1` (on)",
  },
  {
    option: "— (the spool directory of the run's agent, for the stage processes of `stagetrace run` with the agent on)",
    variables: "`STAGETRACE_AGENT`",
    default: "set by `run` unless `STAGETRACE_RUN_AGENT=0`; empty otherwise",
  },
  {
    option:
      "— (the stage's name and directory, for the command `stagetrace exec` runs; the Python package checks its stage name against it)",
    variables: "`STAGETRACE_STAGE`, `STAGETRACE_STAGE_DIR` (also `STAGE_DIR`)",
    default: "set by `exec`",
  },
  {
    option: "`stagetrace report --jaeger-url` (each stage's trace in Jaeger)",
    variables: "`STAGETRACE_JAEGER_URL`",
    default: "none: no trace links",
  },
  {
    option: "Python package: the stagetrace CLI a Python stage started directly runs under",
    variables: "`STAGETRACE_CLI` (a path or a command)",
    default: "`stagetrace` on `PATH`",
  },
  {
    option:
      "Python package: set on the process it runs again under `exec`, so a CLI without the stage protocol fails once instead of looping",
    variables: "`STAGETRACE_PYTHON_REEXEC`",
    default: "set by the Python package",
  },
  {
    option:
      "— (where the `stagetrace` command keeps V8's compiled code of its own modules, Node 22.1+; see [the compile cache](#the-clis-compile-cache))",
    variables: "`NODE_COMPILE_CACHE`; `NODE_DISABLE_COMPILE_CACHE=1` turns it off",
    default: "`<os.tmpdir()>/node-compile-cache`",
  },
];

/** The table as Markdown, as docs/configuration.md has it. */
export function configurationTable(): string {
  const lines = ["| option | environment variable | default |", "| --- | --- | --- |"];
  for (const r of CONFIGURATION_ROWS) lines.push(`| ${r.option} | ${r.variables} | ${r.default} |`);
  return lines.join("\n");
}
