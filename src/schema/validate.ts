import { readFileSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "../package-root.js";
// ajv is CommonJS; Node's ESM loader exposes the class as a named export.
import { Ajv2020, type ErrorObject, type ValidateFunction } from "ajv/dist/2020.js";

/** One reason a document does not match its schema. */
export interface SchemaProblem {
  /** Where, as a JSONPath: `$.outputs[0].size`. */
  path: string;
  message: string;
}

export type SchemaName = "manifest" | "pipeline" | "stage-record";

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T([01]\d|2[0-3]):[0-5]\d:(?:[0-5]\d|60)(?:\.\d+)?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$/;

/** RFC 3339 date-time, including the day-of-month check a pattern cannot express. */
function isDateTime(value: string): boolean {
  const match = DATE_TIME.exec(value);
  if (!match) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (month < 1 || month > 12 || day < 1) return false;
  return day <= new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** The package's `schema/` directory. */
export function schemaDir(): string {
  return join(packageRoot(), "schema");
}

const compiled = new Map<SchemaName, ValidateFunction>();

function validator(name: SchemaName): ValidateFunction {
  let v = compiled.get(name);
  if (!v) {
    const schema = JSON.parse(readFileSync(join(schemaDir(), `${name}.schema.json`), "utf8")) as object;
    const ajv = new Ajv2020({ allErrors: true, strict: true, formats: { "date-time": isDateTime } });
    v = ajv.compile(schema);
    compiled.set(name, v);
  }
  return v;
}

/** `/outputs/0/size` → `$.outputs[0].size`. */
export function pointerToJsonPath(pointer: string): string {
  if (pointer === "") return "$";
  return (
    "$" +
    pointer
      .slice(1)
      .split("/")
      .map((raw) => raw.replace(/~1/g, "/").replace(/~0/g, "~"))
      .map((key) => (/^\d+$/.test(key) ? `[${key}]` : /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`))
      .join("")
  );
}

function problemOf(error: ErrorObject, details?: string[]): SchemaProblem {
  let path = error.instancePath;
  let message = error.message ?? error.keyword;
  if (error.keyword === "additionalProperties") message += ` ('${String(error.params.additionalProperty)}')`;
  if (error.keyword === "required") {
    path += `/${String(error.params.missingProperty).replace(/~/g, "~0").replace(/\//g, "~1")}`;
    message = "is required but missing";
  }
  if (error.keyword === "enum") message += `: ${(error.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")}`;
  if (details?.length) message += ` (${details.join("; ")})`;
  return { path: pointerToJsonPath(path), message };
}

/**
 * The schema's errors for `data`, one per fault: the branches of a failed
 * `anyOf` (a recorded value that is none of the allowed kinds) are folded
 * into that `anyOf`'s entry as `details`.
 */
export function schemaErrors(name: SchemaName, data: unknown): { error: ErrorObject; details: string[] }[] {
  const validate = validator(name);
  if (validate(data)) return [];
  const errors = validate.errors ?? [];
  const anyOfs = errors.filter((e) => e.keyword === "anyOf");
  const branchOf = (e: ErrorObject): ErrorObject | undefined =>
    anyOfs.find(
      (a) =>
        a !== e &&
        e.schemaPath.startsWith(`${a.schemaPath}/`) &&
        (e.instancePath === a.instancePath || e.instancePath.startsWith(`${a.instancePath}/`)),
    );
  const folded = new Map<ErrorObject, string[]>();
  for (const error of errors) {
    const parent = branchOf(error);
    if (!parent) continue;
    const sub = error.instancePath.slice(parent.instancePath.length);
    const text = `${sub ? `${sub} ` : ""}${error.message ?? error.keyword}`;
    const list = folded.get(parent) ?? [];
    if (!list.includes(text)) list.push(text);
    folded.set(parent, list);
  }
  return errors.filter((e) => !branchOf(e)).map((error) => ({ error, details: folded.get(error) ?? [] }));
}

/** The problems that make `data` an invalid manifest.json (or pipeline.json); empty when valid. */
export function validateAgainstSchema(name: SchemaName, data: unknown): SchemaProblem[] {
  return schemaErrors(name, data).map(({ error, details }) => problemOf(error, details));
}
