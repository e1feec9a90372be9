/**
 * Every command of `stagetrace`, declared once: its summary, positionals,
 * options (kind, value name, description, default, environment variable)
 * and help text. The parser, `--help`, the list of commands and the option
 * tables of docs/cli.md all come from these tables. Plain data: loading it
 * loads no command.
 */
import type { CommandSpec } from "./command.js";

/** How many inputs, outputs, warnings and errors `show` lists of a stage without `--files`. */
export const SHOWN_PER_LIST = 3;

const RUN_DIR_ENV = ["OUTPUT_DIR", "STAGETRACE_RUN_DIR"] as const;

export const RUN: CommandSpec = {
  name: "run",
  summary: "run a pipeline command as one trace and one run directory",
  command: true,
  options: {
    name: { kind: "string", value: "NAME", description: "the pipeline's name", env: ["STAGETRACE_PIPELINE"], default: "the script's name" },
    "run-dir": { kind: "string", value: "DIR", description: "the run directory", env: RUN_DIR_ENV, default: "`./out/run-<start time>`" },
    stages: {
      kind: "string",
      value: "a,b,c",
      description:
        "the stage names: a stage's number is its place in this list, whatever order they run in, and a listed stage that never ran fails the run",
    },
    resume: {
      kind: "boolean",
      description: "continue the run the directory holds (same run id, same trace) instead of starting a new one",
    },
    summary: { kind: "boolean", description: "also print the one-line summary when the run succeeds" },
  },
  description: `Runs a whole pipeline (COMMAND, typically a shell script that runs the
stages) as one trace and one run directory. It starts the run span
"RUN <name>" and gives COMMAND, and so every stage it starts:
  TRACEPARENT/TRACESTATE/BAGGAGE  the run span's context (W3C env carrier)
  OUTPUT_DIR, STAGETRACE_RUN_DIR  the run directory
  STAGETRACE_RUN_ID               the run's id
  STAGETRACE_PIPELINE_LOG         the run's pipeline log
  STAGETRACE_AGENT                the spool where stage processes hand their
                                  stages to run (empty when run's own
                                  environment has STAGETRACE_RUN_AGENT=0)
  STAGETRACE_PIPELINE             the pipeline's name
  STAGETRACE_STAGES               the stage list (with --stages)
  PATH                            with this package's "stagetrace" first
TypeScript stages (StageIO, runStage), "stagetrace exec" stages and Python
stages started underneath all land in that trace and that run directory.`,
  details: `A run directory that already holds a run gets a new run id and a new trace,
unless --resume. The run state (run id, run span, stage list) is saved in
<run dir>/.stagetrace-run.json, where every stage of the run finds it.

Writes <run dir>/pipeline.json when the run starts (status "running") and
when COMMAND returns: the run's status, trace id, start and end, and one
entry per stage (number, name, status, start, end, duration, host, manifest
path). A stage whose manifest still says "running" when COMMAND returns, and
whose process is gone, is marked "interrupted" and its span is ended and
exported. When the run did not succeed, a summary on stderr says which stage,
why, and where to look (colour only on a terminal, never with NO_COLOR).

SIGINT and SIGTERM are forwarded to COMMAND. Exit code: COMMAND's (128 + the
signal's number when a signal killed it).

A run whose stages run as separate tasks (a scheduler, other hosts) is begun
and ended by two commands of its own: "stagetrace run begin --help" and
"stagetrace run end --help".`,
};

export const RUN_BEGIN: CommandSpec = {
  name: "run begin",
  summary: "begin a run whose stages run as separate tasks; print the variables they need",
  options: {
    name: {
      kind: "string",
      value: "NAME",
      description: "the pipeline's name",
      env: ["STAGETRACE_PIPELINE"],
      default: "the run directory's name",
    },
    "run-dir": { kind: "string", value: "DIR", description: "the run directory", env: RUN_DIR_ENV, default: "`./out/run-<start time>`" },
    stages: { kind: "string", value: "a,b,c", description: "the stage list: the stages' numbers, and the stages that must run" },
    "run-id": {
      kind: "string",
      value: "ID",
      description: "the run's id, e.g. the scheduler's own (letters, digits, `. _ : @ + -`)",
      default: "start time and random hex",
    },
    resume: { kind: "boolean", description: "continue the run the directory holds (as for `run`)" },
    format: {
      kind: "string",
      value: "env|sh|json",
      description:
        "`KEY=VALUE` lines (`$GITHUB_ENV`, `$GITHUB_OUTPUT`, `.env` files), `export KEY='value'` lines for `eval`, or one JSON object",
      default: "`env`",
    },
    "env-file": { kind: "string", value: "FILE", description: "also append the `KEY=VALUE` lines to FILE (GitHub Actions: `$GITHUB_ENV`)" },
  },
  description: `Begins a run whose stages run as separate tasks (a scheduler, other hosts):
writes the run state and pipeline.json ("running"), starts no process, and
prints, one KEY=VALUE line each, the variables the tasks need (TRACEPARENT,
OUTPUT_DIR, STAGETRACE_RUN_DIR, STAGETRACE_RUN_ID, STAGETRACE_PIPELINE,
STAGETRACE_STAGES).`,
  details: `Each task is any stage with OUTPUT_DIR=DIR: it joins the run from the
variables, or from the run state alone. "stagetrace run end" ends the run.`,
};

export const RUN_END: CommandSpec = {
  name: "run end",
  summary: "end a run begun by run begin: pipeline.json, the run span, stages that never ran",
  options: {
    "run-dir": { kind: "string", value: "DIR", description: "the run directory", env: RUN_DIR_ENV },
    status: {
      kind: "string",
      value: "success|failed|interrupted",
      description:
        "what the scheduler knows of the run (say, from its own task states); `success` still becomes `failed` if a stage did not succeed or a listed stage never ran",
    },
    "exit-code": {
      kind: "string",
      value: "N",
      description: "recorded as the run's `exit_code` (non-zero makes it `failed`)",
      default: "`exit_code` is null",
    },
    summary: { kind: "boolean", description: "print the one-line summary on success too" },
  },
  description: `Ends the run the directory holds: closes stages left running by processes
that are gone (a stage on another host: once its lease expired), writes
pipeline.json with every stage and the listed ones that never ran (not_run),
and ends the run span under the ids "stagetrace run begin" chose.`,
  details: `Exit code: 0 when the run succeeded, 1 otherwise (or when the directory holds
no begun run, or the run already ended), 2 on a usage error.`,
};

export const EXEC: CommandSpec = {
  name: "exec",
  summary: "run any command as a stage (manifest.json, stage.log, span)",
  command: true,
  options: {
    stage: { kind: "string", value: "NAME", description: "the stage's name", required: true },
    number: { kind: "string", value: "N", description: "its number", default: "its place in `STAGETRACE_STAGES`" },
    input: {
      kind: "list",
      value: "PATH[:TYPE]",
      description:
        "a file the command reads; fingerprinted before it starts, whatever its size (exec waits for the hash). Relative paths are from the current directory",
    },
    output: {
      kind: "list",
      value: "PATH[:TYPE]",
      description:
        "a file the command must write; fingerprinted after it exits. Relative paths are in the stage directory. A declared output that is missing fails the stage, naming the file",
    },
    intermediate: { kind: "list", value: "PATH", description: "a cache or temp file; relative paths are in the stage directory" },
    config: {
      kind: "list",
      value: "KEY=VALUE",
      description: "stage config; numbers and `true`/`false` are typed, keys that look secret are redacted",
    },
  },
  description: `Runs COMMAND as a pipeline stage: a stage span (a child of the run when
run under "stagetrace run" or with TRACEPARENT set), the stage directory
<run dir>/NN_<name>/ with manifest.json and stage.log, and INFO+ lines in the
run's pipeline log: the same as a TypeScript stage using StageIO.`,
  details: `The run directory is OUTPUT_DIR (else STAGETRACE_RUN_DIR, else
./out/run-<time>). COMMAND gets STAGE_DIR (its stage directory), OUTPUT_DIR,
and TRACEPARENT of the stage span, so instrumented children nest under it.
Its stdout and stderr still reach the terminal and are also written, line by
line, to stage.log; lines at INFO and above (a level word such as "WARNING"
near the start of a line sets its level, else INFO) also go to the pipeline
log. A Python traceback is one ERROR line, and the reason of a failed stage.

The command can report files, config, warnings, errors, resources, its status
and log lines over the stage protocol (docs/protocol.md): JSON lines appended
to the file STAGETRACE_RECORDS names, as the Python package and
"stagetrace track" do.

Status: exit 0 -> success; non-zero -> failed (process.exit.code recorded);
killed by a signal -> interrupted. SIGINT and SIGTERM are forwarded to the
command. Resources recorded: wall time, CPU user/system and peak RSS of the
command's process tree (RSS sampled every 100 ms, Linux only).

Exit code: always the command's (128 + the signal number when a signal
killed it; 127 when it cannot be started), whatever the telemetry backend does.`,
};

export const TRACK: CommandSpec = {
  name: "track",
  summary: "report a file, config, warning, error or status to the stage around it",
  options: {
    type: { kind: "string", value: "T", description: "the file's type (input and output)" },
    meta: {
      kind: "list",
      value: "KEY=VALUE",
      description: "the file's metadata (input and output); numbers and `true`/`false` are typed",
    },
    retained: { kind: "boolean", description: "the intermediate is kept after the stage (a cache)" },
    reason: { kind: "string", value: "R", description: "why: of an intermediate, or of the status" },
  },
  forms: [
    { positionals: "input|output FILE", options: ["type", "meta"] },
    { positionals: "intermediate FILE", options: ["retained", "reason"] },
    { positionals: "config KEY=VALUE...", options: [] },
    { positionals: "warning|error MESSAGE", options: [] },
    { positionals: "status success|failed|skipped", options: ["reason"] },
  ],
  description: `Reports one record about the running stage to the "stagetrace exec" around it
(the stage protocol, docs/protocol.md), for shell stages: a file the stage
wrote (output) or read (input), a cache or temp file (intermediate), stage
config, a warning, an error, or the stage's status.`,
  details: `FILE is relative to the current directory. Numbers and true/false in
KEY=VALUE are typed. Works only under "stagetrace exec", which sets
STAGETRACE_RECORDS; elsewhere it fails with exit code 1.`,
};

export const SHOW: CommandSpec = {
  name: "show",
  summary: "summarise a run, a stage or a manifest",
  positionals: "RUN_DIR|STAGE_DIR|MANIFEST|PIPELINE_JSON",
  options: {
    files: { kind: "boolean", description: "list every input and output, warning and error" },
    json: { kind: "boolean", description: "print the summary as JSON, for scripts (always every file)" },
  },
  description: `Summarises a run directory (or its pipeline.json), one stage directory, or
one manifest.json: per stage its number, name, status, duration, reason,
file counts, the first ${SHOWN_PER_LIST} inputs and outputs (missing ones first), warnings and
errors (the first line of each).

A stage whose manifest still says "running" while its process is gone from
this host is shown as "abandoned" (killed, or the machine went down).
Control characters in names, paths and messages are printed as \\uXXXX, so
nothing in a manifest can send escape sequences to the terminal.`,
  details: `Exit code: 0; 1 when a stage failed, was interrupted or was abandoned, or
the path does not exist; 2 when the path is not a run directory, stage
directory, manifest.json or pipeline.json (or on another usage error).
Colour is used only when stdout is a terminal (and NO_COLOR is unset).`,
};

export const VALIDATE: CommandSpec = {
  name: "validate",
  summary: "check manifests and pipeline.json against the JSON Schemas",
  positionals: "PATH...",
  options: {},
  description: `Checks manifest.json and pipeline.json files against the JSON Schemas
shipped in the package (schema/manifest.schema.json,
schema/pipeline.schema.json). A PATH that is a directory is searched for
both, recursively. Any other file is checked as a manifest, unless it is
named pipeline.json.

Each problem is printed with the JSON path it is at, e.g.
  out/run/02_asr/manifest.json: $.outputs[0].size: must be integer`,
  details: `Exit code: 0 when every file is valid, 1 when one is not (or cannot be read).`,
};

export const REPLAY: CommandSpec = {
  name: "replay",
  summary: "rebuild manifests from an OTLP/JSON trace export",
  positionals: "TRACE.json",
  options: {
    out: { kind: "string", value: "DIR", description: "where to write (created if missing)", required: true },
  },
  description: `Rebuilds the manifest.json of every stage span in an OTLP/JSON trace
export (one ExportTraceServiceRequest, an array of them, or JSON Lines as the
OpenTelemetry Collector's file exporter writes them) into DIR/<stage dir>/.

The manifests are built by the same function that writes them live
(manifestFromSpan), so a replayed manifest equals the live one, timestamps
and paths included, except its "telemetry" section: how the live process's
export went is not in the trace, so a replayed manifest says state "local".
Spans that were trimmed for OTLP (STAGETRACE_OTLP_MAX_EVENTS) replay with
the files that reached the backend.`,
};

export const REPORT: CommandSpec = {
  name: "report",
  summary: "write a self-contained HTML report of a run",
  positionals: "RUN_DIR",
  options: {
    out: { kind: "string", value: "FILE", description: "where to write it", default: "`<run dir>/report.html`" },
    "jaeger-url": {
      kind: "string",
      value: "URL",
      description: "Jaeger's base URL; trace ids link to `<URL>/trace/<id>`",
      env: ["STAGETRACE_JAEGER_URL"],
    },
  },
  description: `Writes one self-contained HTML file about a run: a banner that says which
stage failed and why (its reason and the first lines of its error), its
header (pipeline, run id, status, start, duration, trace id), a timeline of
the stages coloured by status, wall time, CPU and peak RSS per stage, the
file lineage graph (which stage produced each file and which stages
consumed it), and per stage its config, files, warnings, errors, resources
and its stage.log (the end of it, filterable by level and text). The page
fetches nothing: open it from disk, offline. Runs still in progress and killed
stages (running, abandoned) are shown as such.`,
  details: `Prints the report's path. Exit code: 0, 1 when it cannot be written, 2 on a
usage error.`,
};

export const DIFF: CommandSpec = {
  name: "diff",
  summary: "what changed between two runs, and where it started",
  positionals: "RUN_A RUN_B",
  options: {
    json: { kind: "boolean", description: "print the diff as JSON" },
  },
  description: `Compares two runs of a pipeline, stage by stage (stages are matched by
name, files by their path relative to their run directory, so the runs may
live anywhere): status changes, duration ratio (B / A), config keys added,
removed or changed (values as the manifests hold them; secrets stay
redacted), inputs and outputs whose hash changed, appeared or disappeared,
and new or vanished warnings and errors.

The first line names the first divergence: the first stage (by number) that
changed its outputs from identical inputs, or whose config and outputs both
changed. That is where to look. When no stage meets that, it is the first
stage that differs at all.`,
  details: `Exit code: 0 when nothing differs (durations aside), 1 when something does,
2 on a usage error (including a RUN that is not a run directory).`,
};

/** Every command, in the order the help and docs/cli.md list them. */
export const COMMAND_SPECS: readonly CommandSpec[] = [RUN, RUN_BEGIN, RUN_END, EXEC, TRACK, SHOW, VALIDATE, REPLAY, REPORT, DIFF];
