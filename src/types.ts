import type { TracerProvider } from "@opentelemetry/api";
import type { SpanProcessor } from "@opentelemetry/sdk-trace-base";

/** A stage's outcome. `interrupted` is set when a signal stopped the stage. */
export type StageStatus = "success" | "failed" | "skipped" | "interrupted";

/** Which side of the stage a tracked file is on. */
export type FileRole = "input" | "output" | "intermediate";

/** What a tracked path turned out to be when it was fingerprinted. */
export type FileKind = "file" | "directory" | "symlink" | "fifo" | "socket" | "other" | "missing";

/** Plain values stagetrace records for config, metadata and resources. */
export type RecordedValue = string | number | boolean | string[] | number[] | boolean[] | null;

/** One tracked file as it appears in manifest.json. */
export interface ManifestFileEntry {
  path: string;
  name: string;
  type: string;
  kind: FileKind;
  exists: boolean;
  size: number | null;
  modified: string | null;
  hash: string | null;
  hash_algorithm: string | null;
  from_stage: string | null;
  metadata: Record<string, RecordedValue>;
  /** Intermediates only: kept after the stage (a cache) or not (a temp file). */
  retained?: boolean;
  /** Intermediates only: why the file exists. */
  reason?: string;
}

export interface ManifestWarning {
  message: string;
  timestamp: string;
}

export interface ManifestError {
  message: string;
  type: string;
  stack: string | null;
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
  schema_version: string;
  stage: string;
  stage_number: number | null;
  status: StageStatus;
  status_reason: string | null;
  pipeline: { name: string | null; run_id: string | null; run_dir: string };
  trace: { trace_id: string; span_id: string; parent_span_id: string | null };
  started_at: string;
  ended_at: string;
  duration_ms: number;
  inputs: ManifestFileEntry[];
  outputs: ManifestFileEntry[];
  intermediate_files: ManifestFileEntry[];
  config: Record<string, RecordedValue>;
  warnings: ManifestWarning[];
  errors: ManifestError[];
  resources: Record<string, RecordedValue>;
  process: { pid: number | null; hostname: string | null; command_args: string[]; exit_code: number | null };
  logs: { stage_log: string | null; pipeline_log: string | null };
  telemetry: ManifestTelemetry;
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
  /** `service.name`. Env `OTEL_SERVICE_NAME`. Default `stagetrace`. */
  serviceName?: string;
  /** Longest wait for the backend when the process ends, in ms. Env `STAGETRACE_EXIT_TIMEOUT_MS`. Default 3000. */
  exitTimeoutMs?: number;
  /** Most file/warning/error events sent on one span over OTLP (the manifest keeps all). Env `STAGETRACE_OTLP_MAX_EVENTS`. Default 1000. */
  otlpMaxEventsPerSpan?: number;
  /** Register the tracer provider, context manager and propagator globally (default true) so `trace.getActiveSpan()` and child spans work. */
  registerGlobal?: boolean;
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
  logRecordsExported: number;
  logRecordsDropped: number;
  /** True when the exit deadline (`exitTimeoutMs`) ended the wait for the backend. */
  timedOut: boolean;
}
