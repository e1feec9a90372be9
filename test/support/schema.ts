import { readFileSync } from "node:fs";
// ajv is CommonJS; Node's ESM loader exposes the class as a named export, which
// keeps the class type without a `.default` hop under NodeNext.
import { Ajv2020, type ErrorObject, type ValidateFunction } from "ajv/dist/2020.js";

const SCHEMA_URL = new URL("../../schema/manifest.schema.json", import.meta.url);

const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})T([01]\d|2[0-3]):[0-5]\d:(?:[0-5]\d|60)(?:\.\d+)?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$/;

/** RFC 3339 date-time, including the day-of-month check a pattern cannot express (no ajv-formats here). */
function isDateTime(value: string): boolean {
  const match = DATE_TIME.exec(value);
  if (!match) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (month < 1 || month > 12 || day < 1) return false;
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return day <= daysInMonth;
}

let compiled: ValidateFunction | undefined;

function manifestValidator(): ValidateFunction {
  if (!compiled) {
    const schema = JSON.parse(readFileSync(SCHEMA_URL, "utf8")) as object;
    const ajv = new Ajv2020({ allErrors: true, strict: true, formats: { "date-time": isDateTime } });
    compiled = ajv.compile(schema);
  }
  return compiled;
}

function problemText(error: ErrorObject): string {
  const where = error.instancePath || "/";
  const extra = error.keyword === "additionalProperties" ? ` '${String(error.params.additionalProperty)}'` : "";
  return `${where} ${error.message ?? error.keyword}${extra}`;
}

/**
 * One line per problem. The branches of a failed `anyOf` (a recorded value that
 * is none of the allowed kinds) are folded into that `anyOf`'s line, so one bad
 * value reads as one problem.
 */
function formatErrors(errors: readonly ErrorObject[]): string[] {
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
  return errors
    .filter((e) => !branchOf(e))
    .map((e) => {
      const details = folded.get(e);
      return details ? `${problemText(e)} (${details.join("; ")})` : problemText(e);
    });
}

/** Problems that make `data` an invalid manifest.json; empty when it is valid. */
export function validateManifest(data: unknown): string[] {
  const validate = manifestValidator();
  return validate(data) ? [] : formatErrors(validate.errors ?? []);
}

/** Throws an Error listing every problem when `data` is not a valid manifest.json. */
export function assertValidManifest(data: unknown): void {
  const problems = validateManifest(data);
  if (problems.length > 0) {
    throw new Error(`invalid manifest.json (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n  ${problems.join("\n  ")}`);
  }
}
