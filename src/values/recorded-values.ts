import type { AttributeValue, Attributes } from "@opentelemetry/api";
import type { RecordedValue } from "../types.js";
import { REDACTED, SecretValues, isSecretKey, scrubText } from "./redaction.js";

/** Longest string recorded as a config, metadata or resource value. */
export const MAX_VALUE_LENGTH = 4096;
const MAX_DEPTH = 8;
/** Most items of one array recorded; the rest are cut, and the value says how many. */
export const MAX_ARRAY_ITEMS = 1000;
/** Most keys of one object recorded; the rest are cut, under the key `<object>.…`. */
export const MAX_OBJECT_KEYS = 1000;
/** Most values one call records (config, metadata, extra...); the rest are cut, under the key `…`. */
export const MAX_VALUES = 10_000;
/** The key that says how many keys or values were cut. */
export const CUT_KEY = "…";

export function truncate(text: string, max = MAX_VALUE_LENGTH): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}…[truncated ${text.length - max} chars]`;
}

/**
 * Turns one value a user hands us into something an OTel attribute and JSON
 * can both hold, without throwing: BigInt, Date, Buffer, functions, symbols,
 * circular objects and huge strings all get a faithful, bounded string.
 */
function toLeaf(value: unknown): AttributeValue | null | undefined {
  switch (typeof value) {
    case "string":
      return truncate(value);
    case "number":
      return Number.isFinite(value) ? value : String(value);
    case "boolean":
      return value;
    case "bigint":
      return value.toString();
    case "undefined":
      return undefined;
    case "symbol":
      return value.toString();
    case "function":
      return `[function ${value.name || "anonymous"}]`;
  }
  if (value === null) return null;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? "Invalid Date" : value.toISOString();
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return `[${value.byteLength} bytes]`;
  if (value instanceof RegExp || value instanceof URL) return String(value);
  if (value instanceof Error) return truncate(`${value.name}: ${value.message}`);
  return undefined; // objects and arrays are handled by the caller
}

function primitiveArray(values: unknown[]): AttributeValue | undefined {
  if (values.length === 0) return [] as string[];
  const first = typeof values[0];
  if ((first === "string" || first === "number" || first === "boolean") && values.every((v) => typeof v === first)) {
    return values.map((v) => (typeof v === "string" ? truncate(v) : v)) as AttributeValue;
  }
  return undefined;
}

function safeJson(value: unknown, redact = true): string {
  const seen = new WeakSet<object>();
  try {
    const json = JSON.stringify(value, (k, v: unknown) => {
      // Keys inside arrays of objects are credentials as much as top-level ones.
      if (redact && k !== "" && isSecretKey(k)) return REDACTED;
      if (typeof v === "bigint") return v.toString();
      if (typeof v === "object" && v !== null) {
        if (seen.has(v)) return "[Circular]";
        seen.add(v);
      }
      const leaf = toLeaf(v);
      return leaf === undefined ? v : leaf;
    });
    return truncate(json ?? String(value));
  } catch (err) {
    return `[unserializable: ${(err as Error).message}]`;
  }
}

export interface FlattenContext {
  secrets?: SecretValues;
  redact?: boolean;
}

/**
 * Flattens `{ a: { b: 1 } }` into `{ "<prefix>a.b": 1 }`. Keys that look like
 * credentials get `[REDACTED]` (and their values are remembered so they can
 * be scrubbed from free text too). Nulls are kept as the string "null" on the
 * span (attributes cannot be null) and restored by the manifest reader.
 */
export function flattenToAttributes(
  prefix: string,
  input: Record<string, unknown>,
  ctx: FlattenContext = {},
  out: Attributes = {},
): Attributes {
  const seen = new WeakSet<object>();
  const redact = ctx.redact ?? true;
  const text = (s: string) => (!redact ? s : ctx.secrets ? ctx.secrets.scrub(s) : scrubText(s));
  let values = 0;
  let cut = 0;
  const visit = (key: string, value: unknown, depth: number): void => {
    if (++values > MAX_VALUES) {
      cut++;
      return;
    }
    if (redact && isSecretKey(lastSegment(key))) {
      ctx.secrets?.remember(value);
      out[prefix + key] = REDACTED;
      return;
    }
    const leaf = toLeaf(value);
    if (leaf === null) {
      out[prefix + key] = NULL_MARKER;
      return;
    }
    if (leaf !== undefined) {
      out[prefix + key] = typeof leaf === "string" ? text(leaf) : leaf;
      return;
    }
    if (typeof value !== "object" || value === null) return;
    if (value instanceof Set) value = [...value];
    if (Array.isArray(value)) {
      out[prefix + key] = arrayValue(value, redact, text);
      return;
    }
    if (value instanceof Map) value = Object.fromEntries(value);
    if (seen.has(value as object) || depth >= MAX_DEPTH) {
      out[prefix + key] = seen.has(value as object) ? "[Circular]" : safeJson(value);
      return;
    }
    seen.add(value as object);
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0) {
      out[prefix + key] = "{}";
      return;
    }
    visitEntries(entries, `${key}.`, depth + 1);
  };
  const visitEntries = (entries: [string, unknown][], keyPrefix: string, depth: number): void => {
    for (const [k, v] of entries.length > MAX_OBJECT_KEYS ? entries.slice(0, MAX_OBJECT_KEYS) : entries)
      visit(`${keyPrefix}${k}`, v, depth);
    if (entries.length > MAX_OBJECT_KEYS)
      out[`${prefix}${keyPrefix}${CUT_KEY}`] = `[cut ${entries.length - MAX_OBJECT_KEYS} of ${entries.length} keys]`;
  };
  visitEntries(Object.entries(input), "", 0);
  if (cut > 0) out[prefix + CUT_KEY] = `[cut ${cut} values past the first ${MAX_VALUES}]`;
  return out;
}

/** An array as an attribute value: a homogeneous array of primitives as it is, anything else as JSON; at most MAX_ARRAY_ITEMS items. */
function arrayValue(value: unknown[], redact: boolean, text: (s: string) => string): AttributeValue {
  if (value.length > MAX_ARRAY_ITEMS) {
    const json = safeJson(value.slice(0, MAX_ARRAY_ITEMS), redact);
    return `${text(json)}…[cut ${value.length - MAX_ARRAY_ITEMS} of ${value.length} items]`;
  }
  const primitive = primitiveArray(value);
  if (primitive === undefined) return text(safeJson(value, redact));
  return Array.isArray(primitive) && typeof primitive[0] === "string" ? (primitive as string[]).map(text) : primitive;
}

function lastSegment(key: string): string {
  const i = key.lastIndexOf(".");
  return i < 0 ? key : key.slice(i + 1);
}

/** Attribute values cannot be null; this string stands for null on the span. */
export const NULL_MARKER = "\u0000null";

/** Collects every attribute under `prefix` back into a plain record. */
export function collectPrefixed(attributes: Attributes, prefix: string): Record<string, RecordedValue> {
  const out: Record<string, RecordedValue> = {};
  // Filter before sorting: a file event has a dozen attributes and usually no metadata.
  for (const key of Object.keys(attributes)
    .filter((k) => k.startsWith(prefix))
    .sort()) {
    const value = attributes[key];
    if (value === undefined) continue;
    out[key.slice(prefix.length)] = value === NULL_MARKER ? null : (value as RecordedValue);
  }
  return out;
}
