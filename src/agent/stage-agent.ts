import { closeSync, existsSync, openSync, readdirSync, rmdirSync, rmSync, statSync, watch, type FSWatcher } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { ATTR } from "../conventions.js";
import { errnoText } from "../fs/errno-text.js";
import { pidAlive } from "../run/load-run.js";
import { runParentContext } from "../run/run-parent.js";
import { RecordSink } from "../protocol/apply-record.js";
import { RecordsFile } from "../protocol/records-file.js";
import { MAX_AGENT_RECORD_BYTES, parseStageRecord, type BeginRecord, type EndRecord } from "../protocol/stage-record.js";
import { StageIO, type StageClient } from "../stage/stage-io.js";
import type { StageOptions } from "../types.js";
import { createSpool, SPOOL_DIR, writtenMark } from "./agent-env.js";

/** How often the spool is looked at besides the directory's change notifications (which may be missed). */
const POLL_MS = 50;
/** Most bytes read from one file per look, so one flooding stage cannot starve the others. */
const MAX_BYTES_PER_POLL = 4 * 1024 * 1024;

/** When a spool file was last written; 0 when it is gone. */
function mtimeOf(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

/** The parent span of a `begin` record as a context, or null for a root span. */
function parentOf(b: BeginRecord): StageClient["parent"] {
  if (b.traceparent === undefined) return null;
  const [, traceId, spanId, flags] = b.traceparent.split("-") as [string, string, string, string];
  return runParentContext({
    trace_id: traceId,
    span_id: spanId,
    parent_span_id: null,
    trace_flags: parseInt(flags, 16),
    tracestate: b.tracestate ?? null,
  });
}

/** What `new StageIO` got in the client, as far as the agent needs it to make the same stage. */
function optionsOf(b: BeginRecord): StageOptions {
  return {
    outputBase: b.run_dir,
    ...(typeof b.stage_number === "number" ? { stageNumber: b.stage_number } : {}),
    ...(b.stages ? { stages: b.stages } : {}),
    ...(b.pipeline_name !== undefined ? { pipelineName: b.pipeline_name } : {}),
    ...(b.enable_manifest !== undefined ? { enableManifest: b.enable_manifest } : {}),
    ...(b.strict !== undefined ? { strict: b.strict } : {}),
    ...(b.hash_algorithm !== undefined ? { hashAlgorithm: b.hash_algorithm } : {}),
  };
}

/**
 * One stage process's file in the spool: its records, applied to a StageIO
 * in the agent that stands for the stage (its pid, host, ids and times).
 */
class HostedStage {
  private readonly file: RecordsFile;
  private io: StageIO | undefined;
  private sink: RecordSink | undefined;
  private begin: BeginRecord | undefined;
  /** The file cannot be a stage (no `begin` first, or the stage could not start): the rest of it is skipped. */
  private refused = false;
  /** The stage's `end` arrived (or the agent ended the stage); later records are ignored. */
  ended = false;
  /** finalize() under way. */
  finalizing: Promise<void> = Promise.resolve();
  /** Until `finalizing` settles: the stage's last lines (its finish line among them) are not written yet. */
  finishing = false;

  constructor(
    readonly path: string,
    private readonly warn: (message: string) => void,
  ) {
    this.file = new RecordsFile(
      path,
      (line) => this.line(line),
      (problem) => this.problem(problem),
      { existing: true, maxRecordBytes: MAX_AGENT_RECORD_BYTES },
    );
  }

  read(limit?: number): void {
    this.file.read(limit);
  }

  private problem(message: string): void {
    if (this.sink) this.sink.problem(message);
    else this.warn(`${this.path}: ${message}`);
  }

  private line(text: string): void {
    if (this.ended || this.refused) return;
    const parsed = parseStageRecord(text);
    if ("problem" in parsed) {
      if (!this.sink) {
        this.refuse(`the first record is not a valid begin record (${parsed.problem})`);
        return;
      }
      this.sink.problem(`malformed record ignored: ${parsed.problem}`);
      return;
    }
    const r = parsed.record;
    if (!this.sink) {
      if (r.record === "begin") this.start(r);
      else this.refuse(`the first record is ${JSON.stringify(r.record)}, not begin`);
      return;
    }
    if (r.record === "begin") this.sink.problem("a second begin record ignored");
    else if (r.record === "end") this.finish(r);
    else this.sink.apply(r);
  }

  private refuse(why: string): void {
    this.refused = true;
    this.warn(`${this.path}: ${why}; the file is left in the spool, unread`);
    this.markWritten();
  }

  /**
   * Leaves the mark that all of the stage is written (docs/protocol.md): a
   * stage that runs in-process under the agent waits for the marks of the
   * stages that ended before it, so its lines come after theirs.
   */
  private markWritten(): void {
    try {
      closeSync(openSync(writtenMark(this.path), "w", 0o600));
    } catch {
      // Without the mark such a stage waits out its bound: its lines may come first, nothing is lost.
    }
  }

  private start(b: BeginRecord): void {
    this.begin = b;
    const client: StageClient = {
      env: b.env ?? {},
      pid: b.pid,
      host: b.host ?? hostname(),
      argv: b.argv ?? [],
      start: new Date(b.start),
      traceId: b.trace_id,
      spanId: b.span_id,
      parent: parentOf(b),
      stderrTTY: b.stderr_tty ?? false,
      ...(b.resource ? { resource: b.resource } : {}),
    };
    try {
      this.io = new StageIO(b.stage, optionsOf(b), client);
    } catch (err) {
      this.refuse(`stage ${b.stage} of process ${b.pid} could not start: ${(err as Error).message}`);
      return;
    }
    if (b.command) this.io.recordCommandLine(b.command);
    this.sink = new RecordSink(this.io, this.io.getStageLogger(), (line) => process.stderr.write(line));
  }

  private finish(e: EndRecord): void {
    const io = this.io!;
    const sink = this.sink!;
    this.ended = true;
    sink.end();
    if (e.resources) io.recordCommandResources(e.resources);
    io.setEndTime(e.end);
    const status = e.status ?? sink.reported?.status ?? "success";
    const reason = e.reason ?? (e.status === undefined ? sink.reported?.reason : undefined);
    if (e.signal !== undefined) io.span.setAttribute(ATTR.processSignal, e.signal);
    if (e.at_once) {
      io.finalizeNow(status, reason ?? status, {
        ...(e.when !== undefined ? { when: e.when } : {}),
        ...(e.exit_code !== undefined ? { exitCode: e.exit_code } : {}),
      });
      this.markWritten();
      return;
    }
    // How the command of a `stagetrace exec` ended (a stage ended at once has its exit code from finalizeNow).
    if (e.exit_code !== undefined) io.span.setAttribute(ATTR.processExitCode, e.exit_code);
    this.finishing = true;
    this.finalizing = io
      .finalize(status, {
        ...(e.extra ?? {}),
        ...(reason !== undefined ? { reason } : {}),
        ...(e.save_manifest === false ? { saveManifest: false } : {}),
      })
      .catch((err: unknown) => this.warn(`stage ${io.stageName}: ${(err as Error).message}`))
      .finally(() => {
        this.finishing = false;
        this.markWritten();
      });
  }

  /**
   * The pipeline's command has returned: whatever the file holds is read.
   * A stage without `end` whose process is gone is ended as interrupted,
   * as `stagetrace run` ends a killed in-process stage (same reason, same
   * error, ended at its last record). One whose process still runs is left
   * as it is, its file in the spool: `run` says so, and `run end` applies
   * the file later. True when the file may be deleted: every record in it is applied.
   */
  close(tool: string): boolean {
    this.file.close();
    if (this.refused) return false;
    if (!this.io || this.ended) return true;
    const b = this.begin!;
    const local = b.host === undefined || b.host === hostname();
    if (local && pidAlive(b.pid)) return false;
    this.ended = true;
    this.sink!.end();
    const reason = `the stage's process (pid ${b.pid}) ended without finishing the stage (killed?); marked interrupted by ${tool}`;
    const abandoned = new Error(reason);
    abandoned.name = "StageAbandoned";
    abandoned.stack = "";
    this.io.addError(reason, abandoned);
    this.io.markKilled();
    // It ended when it last showed a sign of life, its last record, not when the agent noticed. The stage
    // directory's files are no sign: the agent writes stage.log, the manifest and the lease for it, later.
    let last = b.start;
    try {
      last = Math.max(last, statSync(this.path).mtimeMs);
    } catch {
      // gone: its start stands
    }
    this.io.setEndTime(Math.floor(last));
    this.io.finalizeNow("interrupted", reason, { when: "the run ended" });
    this.warn(`stage ${this.io.stageName} was left running by a process that is gone; marked interrupted`);
    return true;
  }
}

/**
 * The agent of a pipeline, inside `stagetrace run`: every stage process of
 * the run that finds `STAGETRACE_AGENT` writes its records to a file of its
 * own in the spool directory, and the agent turns each file into the stage
 * a StageIO in that process would have made (docs/protocol.md, "The agent
 * channel"), with the SDK and exporters it already has loaded.
 */
export class StageAgent {
  private readonly stages = new Map<string, HostedStage>();
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Set by drain(): the spool is no longer followed. */
  private draining = false;

  private constructor(
    /** The spool directory, `<run dir>/.stagetrace-agent`. */
    readonly dir: string,
    private readonly warn: (message: string) => void,
    /** The command the agent runs in, as its messages name it. */
    private readonly tool: string,
  ) {}

  /** The agent of the spool `createSpool` (agent-env.ts) made in `runDir`; null, with a warning, when it cannot make one. */
  static create(runDir: string, tool: string, warn: (message: string) => void): StageAgent | null {
    const dir = createSpool(runDir, warn);
    return dir === null ? null : StageAgent.of(dir, tool, warn);
  }

  /** The agent of the spool directory `dir`, already made. */
  static of(dir: string, tool: string, warn: (message: string) => void): StageAgent {
    return new StageAgent(dir, warn, tool);
  }

  /**
   * Applies what a spool left in `runDir` holds (its agent died: `kill -9`
   * of stagetrace run): each stage is made and ended as the agent would
   * have, a stage without `end` as interrupted. Nothing when there is no spool.
   */
  static async pickUp(runDir: string, tool: string, warn: (message: string) => void): Promise<void> {
    if (!existsSync(join(runDir, SPOOL_DIR))) return;
    await StageAgent.create(runDir, tool, warn)?.drain();
  }

  /** Reads the files already there and follows the directory from now on. */
  start(): void {
    this.look();
    try {
      this.watcher = watch(this.dir, this.look);
      this.watcher.on("error", () => this.watcher?.close());
    } catch {
      // No notifications here (some network file systems): the poll alone finds the files.
    }
    this.timer = setInterval(this.look, POLL_MS);
    this.timer.unref();
  }

  /** A poll while the agent follows the spool (one that stopped at a finalize goes on by itself). */
  private readonly look = (): void => {
    if (!this.draining) void this.poll();
  };

  /**
   * Reads what the spool's files hold, oldest file first. At a stage whose
   * finalize() is under way it stops, and goes on once that has written the
   * stage's last lines: a backlog (records that waited while the agent
   * started, or while it was slow) goes into the pipeline log in the order
   * in-process stages would have written it. Returns that finalize, if any.
   */
  private poll(): Promise<void> | null {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      names = [];
    }
    const added = names
      .filter((name) => name.endsWith(".jsonl") && !this.stages.has(name))
      .map((name) => ({ name, mtime: mtimeOf(join(this.dir, name)) }))
      .sort((x, y) => x.mtime - y.mtime || (x.name < y.name ? -1 : 1));
    for (const { name } of added) {
      try {
        this.stages.set(name, new HostedStage(join(this.dir, name), this.warn));
      } catch (err) {
        this.warn(`cannot read ${join(this.dir, name)} (${errnoText(err)})`);
      }
    }
    for (const stage of this.stages.values()) {
      if (!stage.finishing) stage.read(MAX_BYTES_PER_POLL);
      if (stage.finishing) return this.after(stage.finalizing);
    }
    return null;
  }

  /** `finalizing`, and a look at the spool once it settles, while the agent follows the spool. */
  private after(finalizing: Promise<void>): Promise<void> {
    if (!this.draining) void finalizing.then(this.look);
    return finalizing;
  }

  /**
   * The pipeline's command has returned: reads every file to its end, ends
   * the stages still open as interrupted, waits for the finalize() calls
   * (pending hashes), and deletes the files whose records were all applied.
   */
  async drain(): Promise<void> {
    clearInterval(this.timer);
    this.watcher?.close();
    this.draining = true;
    for (let waiting = this.poll(); waiting !== null; waiting = this.poll()) await waiting;
    const done: string[] = [];
    for (const [name, stage] of this.stages) if (stage.close(this.tool)) done.push(name);
    await Promise.all([...this.stages.values()].map((s) => s.finalizing));
    for (const name of done) {
      rmSync(join(this.dir, name), { force: true });
      rmSync(writtenMark(join(this.dir, name)), { force: true });
    }
    try {
      if (readdirSync(this.dir).length === 0) rmdirSync(this.dir);
    } catch {
      // left for the next reader: nothing is lost
    }
  }
}
