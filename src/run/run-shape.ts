/**
 * The shape readers rely on in a manifest.json or pipeline.json: each field
 * they use has the type they use it as. A file that breaks that gives one
 * line naming the file and the field, never a TypeError further on.
 */
type Check = (value: unknown) => boolean;

const str: Check = (v) => typeof v === "string";
const num: Check = (v) => typeof v === "number" && Number.isFinite(v);
const obj: Check = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
const orNull =
  (c: Check): Check =>
  (v) =>
    v === null || c(v);
const optional =
  (c: Check): Check =>
  (v) =>
    v === undefined || c(v);

function shown(value: unknown): string {
  if (value === undefined) return "nothing";
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- only what JSON cannot show (a function, a symbol) reaches String()
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

const TYPE_NAMES = new Map<Check, string>();
function named(c: Check, name: string): Check {
  TYPE_NAMES.set(c, name);
  return c;
}

const STRING = named(str, "a string");
const NUMBER_OR_NULL = named(orNull(num), "a number or null");
const OBJECT = named(obj, "an object");
const OPTIONAL_OBJECT = named(optional(obj), "an object");
const OPTIONAL_OBJECT_OR_NULL = named(optional(orNull(obj)), "an object or null");
const ARRAY = named(Array.isArray, "an array");
const OPTIONAL_ARRAY = named(optional(Array.isArray), "an array");
const OPTIONAL_STRING_OR_NULL = named(optional(orNull(str)), "a string or null");
const OPTIONAL_NUMBER_OR_NULL = named(optional(orNull(num)), "a number or null");

function problem(file: string, field: string, expected: Check, value: unknown): string {
  return `${file}: field ${field} must be ${TYPE_NAMES.get(expected) ?? "something else"}, got ${shown(value)}`;
}

function checkFields(file: string, prefix: string, value: Record<string, unknown>, fields: [string, Check][]): string | null {
  for (const [field, check] of fields) {
    if (!check(value[field])) return problem(file, `${prefix}${field}`, check, value[field]);
  }
  return null;
}

const FILE_FIELDS: [string, Check][] = [
  ["path", STRING],
  ["name", named(optional(str), "a string")],
  ["kind", named(optional(str), "a string")],
  ["size", OPTIONAL_NUMBER_OR_NULL],
  ["hash", OPTIONAL_STRING_OR_NULL],
  ["metadata", OPTIONAL_OBJECT],
];

/** Why `value`, read from manifest `file`, is not a manifest readers can use, or null. */
export function manifestShapeProblem(file: string, value: unknown): string | null {
  if (!obj(value)) return `${file}: expected a stage manifest (a JSON object), got ${shown(value)}`;
  const m = value as Record<string, unknown>;
  const absent = ["stage", "status", "process"].filter((k) => m[k] === undefined);
  if (absent.length > 0) return `${file} is not a stagetrace manifest (no ${absent.join(", ")})`;
  const top = checkFields(file, "", m, [
    ["stage", STRING],
    ["status", STRING],
    ["stage_number", named(optional(orNull((v) => Number.isInteger(v))), "a whole number or null")],
    ["started_at", OPTIONAL_STRING_OR_NULL],
    ["ended_at", OPTIONAL_STRING_OR_NULL],
    ["duration_ms", OPTIONAL_NUMBER_OR_NULL],
    ["status_reason", OPTIONAL_STRING_OR_NULL],
    ["process", OBJECT],
    ["pipeline", OPTIONAL_OBJECT_OR_NULL],
    ["trace", OPTIONAL_OBJECT_OR_NULL],
    ["logs", OPTIONAL_OBJECT_OR_NULL],
    ["telemetry", OPTIONAL_OBJECT_OR_NULL],
    ["config", OPTIONAL_OBJECT],
    ["resources", OPTIONAL_OBJECT],
    ["extra", OPTIONAL_OBJECT],
    ["inputs", OPTIONAL_ARRAY],
    ["outputs", OPTIONAL_ARRAY],
    ["intermediate_files", OPTIONAL_ARRAY],
    ["warnings", OPTIONAL_ARRAY],
    ["errors", OPTIONAL_ARRAY],
  ]);
  if (top) return top;
  const proc = checkFields(file, "process.", m.process as Record<string, unknown>, [
    ["pid", NUMBER_OR_NULL],
    ["hostname", named(optional(orNull(str)), "a string or null")],
    ["command_args", OPTIONAL_ARRAY],
    ["exit_code", OPTIONAL_NUMBER_OR_NULL],
  ]);
  if (proc) return proc;
  for (const [key, fields] of [
    [
      "pipeline",
      [
        ["run_dir", OPTIONAL_STRING_OR_NULL],
        ["run_id", OPTIONAL_STRING_OR_NULL],
        ["name", OPTIONAL_STRING_OR_NULL],
      ],
    ],
    [
      "trace",
      [
        ["trace_id", OPTIONAL_STRING_OR_NULL],
        ["span_id", OPTIONAL_STRING_OR_NULL],
        ["parent_span_id", OPTIONAL_STRING_OR_NULL],
      ],
    ],
    [
      "logs",
      [
        ["stage_log", OPTIONAL_STRING_OR_NULL],
        ["pipeline_log", OPTIONAL_STRING_OR_NULL],
      ],
    ],
  ] as [string, [string, Check][]][]) {
    if (m[key] === null || m[key] === undefined) continue;
    const p = checkFields(file, `${key}.`, m[key] as Record<string, unknown>, fields);
    if (p) return p;
  }
  for (const list of ["inputs", "outputs", "intermediate_files"]) {
    const entries = (m[list] ?? []) as unknown[];
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i];
      if (!obj(e)) return problem(file, `${list}[${i}]`, OBJECT, e);
      const p = checkFields(file, `${list}[${i}].`, e as Record<string, unknown>, FILE_FIELDS);
      if (p) return p;
    }
  }
  for (const list of ["warnings", "errors"]) {
    const entries = (m[list] ?? []) as unknown[];
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i];
      if (!obj(e)) return problem(file, `${list}[${i}]`, OBJECT, e);
      const p = checkFields(file, `${list}[${i}].`, e as Record<string, unknown>, [["message", STRING]]);
      if (p) return p;
    }
  }
  return null;
}

/** Why `value`, read from `file` (a pipeline.json), is not one readers can use, or null. */
export function pipelineShapeProblem(file: string, value: unknown): string | null {
  if (!obj(value)) return `${file}: expected a pipeline summary (a JSON object), got ${shown(value)}`;
  const p = value as Record<string, unknown>;
  const top = checkFields(file, "", p, [
    ["pipeline", named(optional(orNull(str)), "a string")],
    ["run_id", OPTIONAL_STRING_OR_NULL],
    ["status", named(optional(str), "a string")],
    ["trace", OPTIONAL_OBJECT_OR_NULL],
    ["started_at", OPTIONAL_STRING_OR_NULL],
    ["ended_at", OPTIONAL_STRING_OR_NULL],
    ["duration_ms", OPTIONAL_NUMBER_OR_NULL],
    ["command", OPTIONAL_ARRAY],
    ["stages", ARRAY],
  ]);
  if (top) return top;
  if (obj(p.trace)) {
    const t = checkFields(file, "trace.", p.trace as Record<string, unknown>, [["trace_id", OPTIONAL_STRING_OR_NULL]]);
    if (t) return t;
  }
  const stages = p.stages as unknown[];
  for (let i = 0; i < stages.length; i++) {
    const s = stages[i];
    if (!obj(s)) return problem(file, `stages[${i}]`, OBJECT, s);
    const e = checkFields(file, `stages[${i}].`, s as Record<string, unknown>, [
      ["name", STRING],
      ["status", STRING],
      ["number", named(optional(orNull((v) => Number.isInteger(v))), "a whole number or null")],
      ["started_at", OPTIONAL_STRING_OR_NULL],
      ["duration_ms", OPTIONAL_NUMBER_OR_NULL],
      ["manifest", OPTIONAL_STRING_OR_NULL],
    ]);
    if (e) return e;
  }
  return null;
}
