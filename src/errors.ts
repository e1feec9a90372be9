/** Machine-readable reasons a stagetrace call can fail. */
export type StagetraceErrorCode =
  | "INVALID_STAGE_NAME"
  | "INVALID_PATH"
  | "INVALID_OPTION"
  | "INVALID_STATUS"
  /** Data that stagetrace reads (an OTLP/JSON export, a manifest to rebuild a span from) is not what it must be. */
  | "INVALID_INPUT"
  | "STAGE_FINALIZED"
  | "IO_ERROR"
  | "NOT_FOUND"
  | "NOT_UNDER_EXEC"
  /** A `stagetrace` command line that cannot be run as given (the CLI exits 2). */
  | "USAGE"
  /** An exporter or gate that has shut down, or whose exit deadline has passed, refused an export. */
  | "EXPORT_REFUSED"
  /** stagetrace broke one of its own rules; a bug to report. */
  | "INTERNAL"
  /** A file a reader was pointed at cannot be read safely: a FIFO, a device, too large, outside the run. */
  | "UNREADABLE"
  /** A file that should hold JSON does not. */
  | "INVALID_JSON"
  /** A run directory whose pipeline.json a reader cannot use. */
  | "INVALID_RUN"
  /** The stage is already running in another live process. */
  | "STAGE_RUNNING";

/** Marks an error made by any copy of this class (see `Symbol.hasInstance` below). */
const BRAND = Symbol.for("stagetrace.StagetraceError");

/**
 * The one error class stagetrace throws. `code` is stable for programs,
 * `message` names the path or option at fault for people, `cause` keeps the
 * underlying error (an errno from `fs`, a JSON parse error, ...).
 *
 * A stage process under `stagetrace run` loads this class twice: once in the
 * thin client's bundle (scripts/build-entry-bundle.mjs) and once in the
 * in-process modules it falls back to. `instanceof StagetraceError` is true
 * for an error of either copy.
 */
export class StagetraceError extends Error {
  /** Always `"StagetraceError"`. */
  override readonly name = "StagetraceError";
  /** Why the call failed, stable across versions (see `StagetraceErrorCode`). */
  readonly code: StagetraceErrorCode;

  constructor(code: StagetraceErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** An error of any copy of this class is `instanceof` it; for a subclass, the usual prototype check. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this !== StagetraceError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }
}
