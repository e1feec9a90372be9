import type { TracerProvider } from "@opentelemetry/api";
import type { SpanProcessor } from "@opentelemetry/sdk-trace";

/** A stage's outcome. `interrupted` is set when a signal stopped the stage. */
export type StageStatus = "success" | "failed" | "skipped" | "interrupted";

/**
 * The `status` of a manifest.json: a stage's outcome, or `running` for the
 * manifest written when the stage starts (replaced when it ends). A
 * `running` manifest whose process is gone was left by a killed stage.
 */
export type ManifestStatus = StageStatus | "running";

/** Which side of the stage a tracked file is on. */
export type FileRole = "input" | "output" | "intermediate";

/** What a tracked path turned out to be when it was fingerprinted. */
export type FileKind = "file" | "directory" | "symlink" | "fifo" | "socket" | "other" | "missing" | "uri";

/** Plain values stagetrace records for config, metadata and resources. */
export type RecordedValue = string | number | boolean | string[] | number[] | boolean[] | null;

/** One tracked file as it appears in manifest.json. */
export interface ManifestFileEntry {
  /** The path of the file as the stage tracked it. */
  path: string;
  /** The last component of `path`. */
  name: string;
  /** The label the stage gave the file (`audio`, `transcript`); `file` when it gave none. */
  type: string;
  /** What the path was when it was fingerprinted; `missing` when nothing was there. */
  kind: FileKind;
  /** Whether anything existed at `path` when it was fingerprinted. */
  exists: boolean;
  /** Size in bytes; null when it could not be measured. */
  size: number | null;
  /** Modification time (ISO 8601); null when it could not be read. */
  modified: string | null;
  /** Content digest in lowercase hex; null when not hashed (hashing off, missing path, not a regular file). */
  hash: string | null;
  /** The `node:crypto` algorithm of `hash` (default `sha256`); null when there is no hash. */
  hash_algorithm: string | null;
  /** The earlier stage whose directory the file is in; null when it comes from no stage of the run. */
  from_stage: string | null;
  /** What the stage attached when tracking the file (`format`, `sample_rate`, ...). */
  metadata: Record<string, RecordedValue>;
  /** Intermediates only: kept after the stage (a cache) or not (a temp file). */
  retained?: boolean;
  /** Intermediates only: why the file exists. */
  reason?: string;
}

/** A warning a stage recorded (`addWarning`). */
export interface ManifestWarning {
  /** The warning text, secrets scrubbed. */
  message: string;
  /** When it was recorded (ISO 8601). */
  timestamp: string;
}

/** An error a stage recorded (`addError`, `finalize("failed", { error })`, or a throwing `runStage` body). */
export interface ManifestError {
  /** The stage's own words for the error, else the exception's message. */
  message: string;
  /** The exception class (`TypeError`), or `Error` for a plain message. */
  type: string;
  /** The exception's stack trace; null when there was none. */
  stack: string | null;
  /** When it was recorded (ISO 8601). */
  timestamp: string;
}

/** What happened to this process's telemetry on its way to the OTLP backend. */
export interface ManifestTelemetry {
  /** The OTLP traces endpoint, or null when only local files are written. */
  endpoint: string | null;
  /** `pending` while the process may still export; `final` once shutdown has run. */
  state: "local" | "pending" | "final";
  /** Spans this process delivered to the backend. */
  exported: number;
  /** Spans this process failed to deliver (backend errors, queue overflow, exit timeout). */
  dropped: number;
  /** File, warning and error events left out of this stage's span (span limits or payload trimming); the manifest still lists them all. */
  events_omitted: number;
  /** Log records this process delivered to the backend. */
  log_records_exported: number;
  /** Log records this process failed to deliver. */
  log_records_dropped: number;
}

/** The content of `<stage dir>/manifest.json`. */
export interface ManifestData {
  /** The manifest format's version, `<major>.<minor>` (currently `1.0`). */
  schema_version: string;
  /** The stage's name. */
  stage: string;
  /** The `NN` of the stage directory; null when the stage has no number. */
  stage_number: number | null;
  /** `running` from the stage's start until it ends; then its outcome. */
  status: ManifestStatus;
  /** Why the stage ended so (a skip reason, an error message, a signal); null when no reason was given. */
  status_reason: string | null;
  /** The pipeline's name, the run id and the run directory. */
  pipeline: { name: string | null; run_id: string | null; run_dir: string };
  /** The stage span's trace id, span id and parent span id (the run span under `stagetrace run`). */
  trace: { trace_id: string; span_id: string; parent_span_id: string | null };
  /** When the stage started (ISO 8601). */
  started_at: string;
  /** Null while the stage is running. */
  ended_at: string | null;
  /** Null while the stage is running. */
  duration_ms: number | null;
  /** Files the stage read, in the order it tracked them. */
  inputs: ManifestFileEntry[];
  /** Files the stage wrote, in the order it tracked them. */
  outputs: ManifestFileEntry[];
  /** Caches (`retained: true`) and temporary files (`retained: false`). */
  intermediate_files: ManifestFileEntry[];
  /** The stage's config: nested keys flattened to dotted keys, secrets redacted. */
  config: Record<string, RecordedValue>;
  /** Warnings, oldest first. */
  warnings: ManifestWarning[];
  /** Errors, oldest first. */
  errors: ManifestError[];
  /** Resource figures: CPU time and peak RSS that stagetrace measured, plus the stage's own (`setResources`). */
  resources: Record<string, RecordedValue>;
  /**
   * Fields the stage passed to `finalize(status, { ...extra })` beyond `reason`, `error` and
   * `saveManifest` (the seed's `**kwargs`), flattened like config. Absent only in manifests written
   * by stagetrace versions before it existed.
   */
  extra: Record<string, RecordedValue>;
  /** The process the stage ran in: pid, host name, command line and exit code (null while it runs). */
  process: { pid: number | null; hostname: string | null; command_args: string[]; exit_code: number | null };
  /** The paths of the stage's `stage.log` and of the run's pipeline log. */
  logs: { stage_log: string | null; pipeline_log: string | null };
  /** What reached the OTLP backend and what did not. */
  telemetry: ManifestTelemetry;
}

/**
 * The second argument of `finalize(status, options)`: the seed's
 * `finalize(status, save_manifest=True, **kwargs)`. Any field besides these
 * three is recorded as it is given: in the manifest's `extra` and as the span
 * attribute `stagetrace.extra.<key>` (nested keys flattened, secrets redacted).
 */
export interface FinalizeOptions {
  /** Why the stage ended so (`status_reason`): a skip reason, a failure in a few words. */
  reason?: string;
  /** The error that ended the stage: recorded in `errors`, and the reason when `reason` is not given. */
  error?: string | Error;
  /**
   * `false`: leave no manifest.json for this stage (the one written while it ran is removed); the
   * span still ends and is exported. Default true. `StageManifest.finalize` ignores it (call `save()` or not).
   */
  saveManifest?: boolean;
  /** The seed's `**kwargs`: recorded under `extra`. */
  [extra: string]: unknown;
}

/** Options for `new StageIO(name, options)` and `runStage(name, body, options)`. */
export interface StageOptions {
  /** The run directory. Default: env `OUTPUT_DIR`, else `STAGETRACE_RUN_DIR`, else `./out/run-<start time>`. */
  outputBase?: string;
  /** The stage's number (the `NN` of `NN_<name>`). Default: its position in `stages`. */
  stageNumber?: number;
  /** The pipeline's stage names in order. Default: env `STAGETRACE_STAGES`, else `stagetrace.json` in the run directory. */
  stages?: readonly string[];
  /** Write manifest.json for this stage (default true). */
  enableManifest?: boolean;
  /** The pipeline's name, recorded as `cicd.pipeline.name`. Default: env `STAGETRACE_PIPELINE`, else the run directory's name. */
  pipelineName?: string;
  /** Content hash for tracked files: `sha256` (default), any algorithm `node:crypto` knows, or `none` (size and mtime only). Env `STAGETRACE_HASH`. */
  hashAlgorithm?: string;
  /**
   * Make stagetrace's own local files part of the stage's result: when the
   * stage directory, stage.log, the pipeline log or the manifest cannot be
   * written, `new StageIO` throws (at start) or the stage ends `failed` and
   * the process exit code is 1 (later). Default false: stderr says so once and
   * the stage goes on. Env `STAGETRACE_STRICT=1`.
   */
  strict?: boolean;
  /** Telemetry options, used when this stage starts telemetry lazily. */
  telemetry?: TelemetryOptions;
}

/** Options for `initTelemetry()`. Each falls back to its env variable, then to its default. */
export interface TelemetryOptions {
  /** OTLP base URL (`/v1/traces` and `/v1/logs` are appended). Env `OTEL_EXPORTER_OTLP_ENDPOINT`. Default: none, local files only. */
  otlpEndpoint?: string;
  /** Full OTLP traces URL. Env `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`. */
  otlpTracesEndpoint?: string;
  /** Full OTLP logs URL. Env `OTEL_EXPORTER_OTLP_LOGS_ENDPOINT`. */
  otlpLogsEndpoint?: string;
  /** Extra OTLP headers. Env `OTEL_EXPORTER_OTLP_HEADERS` (`k=v,k2=v2`). */
  otlpHeaders?: Record<string, string>;
  /**
   * The OTLP protocol of all three signals: `http/protobuf` (the
   * specification's default), `http/json` (through
   * `@opentelemetry/exporter-trace-otlp-http` for spans) or `grpc`. Env
   * `OTEL_EXPORTER_OTLP_<SIGNAL>_PROTOCOL`, then `OTEL_EXPORTER_OTLP_PROTOCOL`.
   */
  otlpProtocol?: "http/json" | "http/protobuf" | "grpc";
  /** `service.name`. Env `OTEL_SERVICE_NAME`. Default `stagetrace`. */
  serviceName?: string;
  /** Longest wait for the backend when the process ends, in ms. Env `STAGETRACE_EXIT_TIMEOUT_MS`. Default 3000. */
  exitTimeoutMs?: number;
  /** Most file/warning/error events sent on one span over OTLP (the manifest keeps all). Env `STAGETRACE_OTLP_MAX_EVENTS`. Default 1000. */
  otlpMaxEventsPerSpan?: number;
  /**
   * How often an open stage sends its heartbeat metrics (`stagetrace.stage.active`,
   * `stagetrace.stage.heartbeat`, `stagetrace.stage.start_time`) to
   * `<otlpEndpoint>/v1/metrics` (or env `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`), in ms.
   * Only with an OTLP endpoint; `0` turns heartbeats off. Env
   * `STAGETRACE_HEARTBEAT_INTERVAL_MS`. Default 15000.
   */
  heartbeatIntervalMs?: number;
  /** Register the tracer provider, context manager and propagator globally (default true) so `trace.getActiveSpan()` and child spans work. */
  registerGlobal?: boolean;
  /**
   * While a stage is open, handle SIGINT and SIGTERM: finalize the open
   * stages as `interrupted` (reason: the signal), flush logs, export within
   * `exitTimeoutMs`, then end the process by that same signal (130 / 143
   * in a shell), so the pipeline around it stops. When the app has its own
   * listener for the signal, stagetrace only finalizes and flushes; the app's
   * listener decides about exiting. Default true; env
   * `STAGETRACE_HANDLE_SIGNALS=0` turns it off.
   */
  handleSignals?: boolean;
  /** Extra span processors (e.g. a console exporter while debugging). */
  spanProcessors?: SpanProcessor[];
  /**
   * An app that runs its own OpenTelemetry SDK passes its tracer provider
   * here: stages then start their spans from it, and stagetrace creates no
   * provider and no OTLP span exporter of its own. Add `stageSpanProcessors()`
   * to that provider for the manifests, and raise its `eventCountLimit`.
   */
  tracerProvider?: TracerProvider;
}

/** What `shutdownTelemetry()` reports. */
export interface TelemetryReport {
  /** The OTLP traces endpoint, or null when only local files were written. */
  endpoint: string | null;
  /** Spans delivered. */
  exported: number;
  /** Spans not delivered (backend errors, queue overflow, exit deadline). */
  dropped: number;
  /** Log records delivered. */
  logRecordsExported: number;
  /** Log records not delivered (local log files are unaffected). */
  logRecordsDropped: number;
  /** True when the exit deadline (`exitTimeoutMs`) ended the wait for the backend. */
  timedOut: boolean;
}

/** Per-file options of `trackInput`, `trackOutput` and `trackIntermediate`. */
export interface TrackOptions {
  /**
   * `false`: do not hash this file's content (a huge media file, say); its
   * size and modification time still identify it. Default `true`, with the
   * stage's `hashAlgorithm`.
   */
  hash?: boolean;
}
