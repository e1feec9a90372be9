import type { ErrorObject } from "ajv/dist/2020.js";
import { schemaErrors } from "../../src/schema/validate.js";

function problemText(error: ErrorObject, details: string[]): string {
  const where = error.instancePath || "/";
  const extra = error.keyword === "additionalProperties" ? ` '${String(error.params.additionalProperty)}'` : "";
  const text = `${where} ${error.message ?? error.keyword}${extra}`;
  return details.length > 0 ? `${text} (${details.join("; ")})` : text;
}

/** Problems that make `data` an invalid manifest.json, in ajv's own words at JSON pointers; empty when it is valid. */
export function validateManifest(data: unknown): string[] {
  return schemaErrors("manifest", data).map(({ error, details }) => problemText(error, details));
}

/** Throws an Error listing every problem when `data` is not a valid manifest.json. */
export function assertValidManifest(data: unknown): void {
  const problems = validateManifest(data);
  if (problems.length > 0) {
    throw new Error(`invalid manifest.json (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n  ${problems.join("\n  ")}`);
  }
}
