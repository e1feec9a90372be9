import type { Span } from "@opentelemetry/api";
import { millisToHrTime } from "@opentelemetry/core";
import type { TimedEvent } from "@opentelemetry/sdk-trace";
import { basename, join, resolve, sep } from "node:path";
import { FILE_ATTR, FILE_EVENT, WARNING_ATTR, WARNING_EVENT } from "../conventions.js";
import { StagetraceError } from "../errors.js";
import { fingerprint, FingerprintIndex, isUri, uriFingerprint, type FileFingerprint } from "../fs/file-fingerprint.js";
import { fileEventAttributes, type FileEventFields } from "../manifest/file-event.js";
import { sdkSpanEventList } from "../package-internals.js";
import type { FileRole, TrackOptions } from "../types.js";
import { flattenToAttributes } from "../values/recorded-values.js";
import { redactUrl, type SecretValues } from "../values/redaction.js";
import { stagetraceSettings } from "../config/stagetrace-settings.js";

interface Tracked {
  path: string;
  role: FileRole;
  type: string;
  metadata: Record<string, unknown>;
  fromStage: string | null;
  retained?: boolean;
  reason?: string;
  time: number;
  fingerprint: FileFingerprint | Promise<FileFingerprint>;
  /** Its file event is on the span. */
  recorded?: boolean;
}

/** What is known of a file whose hash was not finished when the stage had to end (`when`: "the process exited"). */
function stillHashing(t: Tracked, when: string): FileFingerprint {
  return {
    path: t.path,
    name: basename(t.path),
    kind: "file",
    exists: true,
    size: null,
    modified: null,
    hash: null,
    hashAlgorithm: null,
    problem: `${t.path} was still being hashed when ${when}`,
  };
}

/** An absolute POSIX path that `resolve` would return unchanged (no `.`, `..`, `//` or trailing `/`); cheaper to check than to resolve. */
function isPlainAbsolute(path: string): boolean {
  return sep === "/" && path[0] === "/" && !path.includes("/.") && !path.includes("//") && (path.length === 1 || !path.endsWith("/"));
}

/** Where a stage's files live and what it hashes them with. */
export interface FileTrackingOptions {
  stageName: string;
  /** The run directory: a file in another stage's directory of it came from that stage. */
  outputBase: string;
  stages: readonly string[] | null;
  hashAlgorithm: string;
  /** The fingerprint indexes of this telemetry, shared by its stages. */
  fingerprints: FingerprintIndex;
  secrets: SecretValues;
  /** Where a bad `STAGETRACE_REUSE_HASHES` value is reported (once). */
  warn: (message: string) => void;
}

/**
 * The files one stage tracks: each is fingerprinted (at once, or off the
 * event loop for a large file) and becomes a `stagetrace.file` event on the
 * stage span, in tracking order, as soon as its hash is known.
 */
export class FileTracking {
  /** Tracked files whose event is not on the span yet: each waits for its hash, or for an earlier one's. */
  private readonly tracked: Tracked[] = [];
  /** Outputs and intermediates recorded so far, for the fingerprint index later stages reuse hashes from. */
  private readonly written: FileFingerprint[] = [];
  /** sourceOf's answer for each directory of the run directory seen so far. */
  private readonly sources = new Map<string, { stage: string; dir: string } | null>();
  /** Where file events are appended directly (see sdkSpanEventList); null: through addEvent. */
  private readonly fileEvents: TimedEvent[] | null;
  private reuse: boolean | undefined;

  constructor(
    private readonly span: Span,
    private readonly o: FileTrackingOptions,
  ) {
    this.fileEvents = sdkSpanEventList(span);
  }

  track(
    role: FileRole,
    path: string,
    type: string,
    metadata: Record<string, unknown>,
    extra: { retained?: boolean; reason?: string },
    options: TrackOptions,
  ): void {
    if (typeof path !== "string" || path === "") {
      throw new StagetraceError("INVALID_PATH", `track ${role}: expected a file path, got ${JSON.stringify(path)}`);
    }
    if (isUri(path)) {
      // A location in object storage or on the web: recorded as given (credentials censored), never read.
      const uri = redactUrl(path);
      const t: Tracked = {
        path: uri,
        role,
        type: String(type),
        metadata,
        fromStage: null,
        time: Date.now(),
        fingerprint: uriFingerprint(uri),
      };
      if (extra.retained !== undefined) t.retained = extra.retained;
      if (extra.reason !== undefined) t.reason = extra.reason;
      if (this.tracked.length === 0) this.recordFile(t, t.fingerprint as FileFingerprint);
      else this.tracked.push(t);
      return;
    }
    const absolute = isPlainAbsolute(path) ? path : resolve(path);
    const source = this.sourceOf(absolute);
    const algorithm = options.hash === false ? "none" : this.o.hashAlgorithm;
    const t: Tracked = {
      path: absolute,
      role,
      type: String(type),
      metadata,
      fromStage: source?.stage ?? null,
      time: Date.now(),
      fingerprint: fingerprint(absolute, algorithm, {
        producerDir: this.reuseHashes ? source?.dir : null,
        index: this.o.fingerprints,
        keepIdentity: role !== "input" && this.reuseHashes,
      }),
    };
    if (extra.retained !== undefined) t.retained = extra.retained;
    if (extra.reason !== undefined) t.reason = extra.reason;
    // A fingerprint that is ready goes on the span now, unless an earlier file is still
    // being hashed (events stay in tracking order). Holding it until finalize() would
    // keep every tracked file's record alive, which costs more than the event itself.
    if (this.tracked.length === 0 && !(t.fingerprint instanceof Promise)) this.recordFile(t, t.fingerprint);
    else this.tracked.push(t);
  }

  /** Resolves once every file tracked so far has its fingerprint, large files included. */
  async allFingerprinted(): Promise<void> {
    for (const t of this.tracked) if (t.fingerprint instanceof Promise) t.fingerprint = await t.fingerprint;
  }

  /** Whether tracked files may take the hash their producing stage recorded (`STAGETRACE_REUSE_HASHES`). */
  get reuseHashes(): boolean {
    return (this.reuse ??= stagetraceSettings(process.env, this.o.warn).reuseHashes());
  }

  // A file inside another stage's directory of this run came from that stage.
  private sourceOf(path: string): { stage: string; dir: string } | null {
    const base = this.o.outputBase;
    if (!path.startsWith(base) || path[base.length] !== sep) return null;
    const rest = path.slice(base.length + 1);
    const end = sep === "/" ? rest.indexOf("/") : rest.search(/[\\/]/);
    if (end < 0) return null; // a file directly in the run directory
    const first = rest.slice(0, end);
    // Files come by the thousand from a few directories: each is worked out once.
    let source = this.sources.get(first);
    if (source === undefined) {
      const m = /^\d+_(.+)$/.exec(first);
      const name = m ? m[1]! : this.o.stages?.includes(first) ? first : null;
      source = name === null || name === this.o.stageName ? null : { stage: name, dir: join(base, first) };
      this.sources.set(first, source);
    }
    return source;
  }

  /**
   * Waits for every pending hash and records the files in order. Returns
   * false when `ended()` turned true meanwhile (the stage was ended at once,
   * and `recordNow` recorded the rest).
   */
  async recordAll(ended: () => boolean): Promise<boolean> {
    for (const t of this.tracked) {
      // Most fingerprints are ready; awaiting each one would cost a microtask per file.
      const fp = t.fingerprint instanceof Promise ? await t.fingerprint : t.fingerprint;
      if (ended()) return false;
      this.recordFile(t, fp);
    }
    this.tracked.length = 0;
    return true;
  }

  /** Records every pending file now, awaiting nothing: those still being hashed without a hash, and a warning saying `when`. */
  recordNow(when: string): void {
    for (const t of this.tracked) {
      if (!t.recorded) this.addFileEvent(t, t.fingerprint instanceof Promise ? stillHashing(t, when) : t.fingerprint);
    }
    this.tracked.length = 0;
  }

  /** Writes `stageDir`'s fingerprint index from the outputs and intermediates recorded (with reuse on). */
  writeIndex(stageDir: string): void {
    if (this.reuseHashes) this.o.fingerprints.write(stageDir, this.written);
  }

  private recordFile(t: Tracked, fp: FileFingerprint): void {
    this.addFileEvent(t, fp);
    t.recorded = true;
    if (t.role !== "input" && fp.identity) this.written.push(fp);
  }

  private addFileEvent(t: Tracked, fp: FileFingerprint): void {
    const secrets = this.o.secrets;
    const fields: FileEventFields = {
      role: t.role,
      path: fp.path,
      name: fp.name,
      type: t.type,
      kind: fp.kind,
      exists: fp.exists,
      size: fp.size,
      modified: fp.modified,
      hash: fp.hash,
      hashAlgorithm: fp.hashAlgorithm,
      fromStage: t.fromStage,
    };
    if (t.role === "intermediate") {
      fields.retained = t.retained ?? false;
      fields.reason = secrets.scrub(t.reason ?? "");
    }
    const attributes = fileEventAttributes(fields);
    for (const _ in t.metadata) {
      flattenToAttributes(FILE_ATTR.metaPrefix, t.metadata, { secrets }, attributes);
      break;
    }
    const time = millisToHrTime(t.time);
    if (this.fileEvents !== null) this.fileEvents.push({ name: FILE_EVENT, attributes, time, droppedAttributesCount: 0 });
    else this.span.addEvent(FILE_EVENT, attributes, time);
    if (!fp.exists && !fp.problem) {
      this.span.addEvent(WARNING_EVENT, { [WARNING_ATTR.message]: `tracked ${t.role} ${fp.path} does not exist` });
    } else if (fp.problem) {
      this.span.addEvent(WARNING_EVENT, { [WARNING_ATTR.message]: fp.problem });
    }
  }
}
