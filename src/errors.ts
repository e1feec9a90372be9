/** Machine-readable reasons a stagetrace call can fail. */
export type StagetraceErrorCode =
  | "INVALID_STAGE_NAME"
  | "INVALID_PATH"
  | "INVALID_OPTION"
  | "INVALID_STATUS"
  | "STAGE_FINALIZED"
  | "IO_ERROR"
  | "NOT_FOUND"
  | "NOT_UNDER_EXEC"
  | "UNREADABLE"
  | "INVALID_JSON"
  | "INVALID_RUN"
  | "STAGE_RUNNING";

/**
 * The one error class stagetrace throws. `code` is stable for programs,
 * `message` names the path or option at fault for people, `cause` keeps the
 * underlying error (an errno from `fs`, a JSON parse error, ...).
 */
export class StagetraceError extends Error {
  /** Always `"StagetraceError"`. */
  override readonly name = "StagetraceError";
  /** Why the call failed, stable across versions (see `StagetraceErrorCode`). */
  readonly code: StagetraceErrorCode;

  constructor(code: StagetraceErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
