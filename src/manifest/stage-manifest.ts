import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { MANIFEST_SCHEMA_VERSION, assertStageStatus } from "../conventions.js";
import { StagetraceError } from "../errors.js";
import { fingerprintSync, type FileFingerprint } from "../fs/file-fingerprint.js";
import { collectPrefixed, flattenToAttributes, truncate } from "../values/recorded-values.js";
import { redactArgv, SecretValues } from "../values/redaction.js";
import type {
  FinalizeOptions,
  ManifestData,
  ManifestError,
  ManifestFileEntry,
  ManifestStatus,
  ManifestWarning,
  StageStatus,
} from "../types.js";
import { writeManifestText } from "./manifest-file.js";

/** Builds a manifest file entry from a fingerprint plus what the stage said about the file. */
export function fileEntryFrom(
  fp: FileFingerprint,
  type: string,
  metadata: Record<string, unknown>,
  fromStage: string | null,
  secrets?: SecretValues,
): ManifestFileEntry {
  return {
    path: fp.path,
    name: fp.name,
    type,
    kind: fp.kind,
    exists: fp.exists,
    size: fp.size,
    modified: fp.modified,
    hash: fp.hash,
    hash_algorithm: fp.hashAlgorithm,
    from_stage: fromStage,
    metadata: collectPrefixed(flattenToAttributes("", metadata, { secrets }), ""),
  };
}

/**
 * A stage's manifest: what it read, wrote and cached, with which config,
 * what it warned about, how it failed and what it cost. `manifestFromSpan`
 * returns one; it can also be filled by hand, as in the seed's API.
 */
export class StageManifest {
  /** The manifest's content, exactly as `toJSONString()` writes it. */
  readonly data: ManifestData;
  private readonly secrets = new SecretValues();

  constructor(stageOrData: string | ManifestData, stageNumber: number | null = null) {
    if (typeof stageOrData !== "string") {
      this.data = stageOrData;
      return;
    }
    const now = new Date().toISOString();
    this.data = {
      schema_version: MANIFEST_SCHEMA_VERSION,
      stage: stageOrData,
      stage_number: stageNumber,
      status: "success",
      status_reason: null,
      pipeline: { name: null, run_id: null, run_dir: process.cwd() },
      // A manifest built by hand belongs to no trace; it gets ids of its own so it stays valid.
      trace: { trace_id: randomBytes(16).toString("hex"), span_id: randomBytes(8).toString("hex"), parent_span_id: null },
      started_at: now,
      ended_at: now,
      duration_ms: 0,
      inputs: [],
      outputs: [],
      intermediate_files: [],
      config: {},
      warnings: [],
      errors: [],
      resources: {},
      extra: {},
      process: { pid: process.pid, hostname: hostname(), command_args: redactArgv(process.argv), exit_code: null },
      logs: { stage_log: null, pipeline_log: null },
      telemetry: {
        endpoint: null,
        state: "local",
        exported: 0,
        dropped: 0,
        events_omitted: 0,
        log_records_exported: 0,
        log_records_dropped: 0,
      },
    };
  }

  /** The stage's name. */
  get stage(): string {
    return this.data.stage;
  }

  /** The stage's outcome, or `running` for a manifest written while the stage ran. */
  get status(): ManifestStatus {
    return this.data.status;
  }

  /** Fingerprints `path` now (size, mtime, sha256) and adds it to `inputs`; returns the entry. */
  addInput(path: string, fileType = "file", metadata: Record<string, unknown> = {}): ManifestFileEntry {
    const entry = fileEntryFrom(fingerprintSync(path, "sha256"), fileType, metadata, null, this.secrets);
    this.data.inputs.push(entry);
    return entry;
  }

  /** Fingerprints `path` now and adds it to `outputs`; returns the entry. */
  addOutput(path: string, fileType = "file", metadata: Record<string, unknown> = {}): ManifestFileEntry {
    const entry = fileEntryFrom(fingerprintSync(path, "sha256"), fileType, metadata, null, this.secrets);
    this.data.outputs.push(entry);
    return entry;
  }

  /**
   * Fingerprints `path` now and adds it to `intermediate_files` with `retained` and `reason`; returns the entry.
   */
  addIntermediate(path: string, retained = false, reason = ""): ManifestFileEntry {
    const entry = { ...fileEntryFrom(fingerprintSync(path, "sha256"), "intermediate", {}, null), retained, reason };
    this.data.intermediate_files.push(entry);
    return entry;
  }

  /** Adds one config value (see `setConfig`). */
  addConfig(key: string, value: unknown): void {
    this.setConfig({ [key]: value });
  }

  /** Merges `config` into `config`: nested keys flattened to dotted keys, secrets redacted. */
  setConfig(config: Record<string, unknown>): void {
    Object.assign(this.data.config, collectPrefixed(flattenToAttributes("", config, { secrets: this.secrets }), ""));
  }

  /** Appends a warning with the current time. */
  addWarning(message: string): void {
    this.data.warnings.push({ message: this.secrets.scrub(truncate(String(message))), timestamp: new Date().toISOString() });
  }

  /** Appends an error: `message`, and the type and stack of `error` when it is an `Error`. */
  addError(message: string, error?: unknown): void {
    const err = error instanceof Error ? error : undefined;
    this.data.errors.push({
      message: this.secrets.scrub(truncate(String(message))),
      type: err ? err.name || err.constructor.name : "Error",
      stack: err?.stack ? this.secrets.scrub(err.stack) : null,
      timestamp: new Date().toISOString(),
    });
  }

  /** Merges `resources` into `resources`, flattened like config. */
  setResources(resources: Record<string, unknown>): void {
    Object.assign(this.data.resources, collectPrefixed(flattenToAttributes("", resources, { secrets: this.secrets }), ""));
  }

  /**
   * Sets the status, reason (or `error`, which is also recorded), end time and duration; any other
   * field of `options` (the seed's `**kwargs`) is merged into `extra`, flattened like config. Throws on an unknown status.
   */
  finalize(status: StageStatus = "success", options: FinalizeOptions = {}): void {
    assertStageStatus(status);
    const { reason, error, saveManifest: _saveManifest, ...extra } = options;
    if (error !== undefined) this.addError(typeof error === "string" ? error : error.message, error);
    Object.assign(this.data.extra, collectPrefixed(flattenToAttributes("", extra, { secrets: this.secrets }), ""));
    const end = new Date();
    this.data.status = status;
    this.data.status_reason = reason ?? (error === undefined ? null : typeof error === "string" ? error : error.message);
    this.data.ended_at = end.toISOString();
    this.data.duration_ms = Math.max(0, end.getTime() - Date.parse(this.data.started_at));
  }

  /** Writes the manifest as JSON, atomically (`toJSONString()`, through the one writer of manifests). */
  save(path: string): void {
    writeManifestText(path, this.toJSONString());
  }

  /** Replaces this manifest's content with the one stored at `path`. */
  load(path: string): this {
    Object.assign(this.data, StageManifest.fromFile(path).data);
    return this;
  }

  /**
   * Reads a manifest.json. Throws `StagetraceError` (`NOT_FOUND`, `INVALID_OPTION`) when it is unreadable or not JSON; it does not validate against the schema.
   */
  static fromFile(path: string): StageManifest {
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (err) {
      throw new StagetraceError("NOT_FOUND", `could not read manifest ${path}: ${(err as Error).message}`, { cause: err });
    }
    try {
      return new StageManifest(JSON.parse(text) as ManifestData);
    } catch (err) {
      throw new StagetraceError("INVALID_OPTION", `${path} is not valid JSON: ${(err as Error).message}`, { cause: err });
    }
  }

  /** A deep copy of the manifest's content (the seed's `to_dict`). */
  toDict(): ManifestData {
    return structuredClone(this.data);
  }

  /** The manifest's content, for `JSON.stringify`. */
  toJSON(): ManifestData {
    return this.data;
  }

  /** The manifest as written to disk: pretty JSON with a final newline. */
  toJSONString(): string {
    return JSON.stringify(this.data, null, 2) + "\n";
  }

  /** The `inputs` entries. */
  getInputs(): ManifestFileEntry[] {
    return this.data.inputs;
  }

  /** The `outputs` entries. */
  getOutputs(): ManifestFileEntry[] {
    return this.data.outputs;
  }

  /** The `intermediate_files` entries. */
  getIntermediateFiles(): ManifestFileEntry[] {
    return this.data.intermediate_files;
  }

  /** The recorded warnings. */
  getWarnings(): ManifestWarning[] {
    return this.data.warnings;
  }

  /** The recorded errors. */
  getErrors(): ManifestError[] {
    return this.data.errors;
  }

  /** True when at least one error was recorded. */
  hasErrors(): boolean {
    return this.data.errors.length > 0;
  }

  /** True when at least one warning was recorded. */
  hasWarnings(): boolean {
    return this.data.warnings.length > 0;
  }
}
