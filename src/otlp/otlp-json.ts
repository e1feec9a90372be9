import { SpanKind, SpanStatusCode, TraceFlags, createTraceState } from "@opentelemetry/api";
import type { Attributes, HrTime, Link, SpanContext, SpanStatus } from "@opentelemetry/api";
import { hrTimeDuration } from "@opentelemetry/core";
import type { InstrumentationScope } from "@opentelemetry/core";
import { resourceFromAttributes } from "@opentelemetry/resources";
import type { DetectedResourceAttributes, Resource } from "@opentelemetry/resources";
import type { ReadableSpan, TimedEvent } from "@opentelemetry/sdk-trace";
import { StagetraceError } from "../errors.js";

/** A decoded OTLP `AnyValue`. An empty `AnyValue` (`{}`) decodes to `null`. */
export type OtlpValue = string | number | boolean | null | OtlpValue[] | { [key: string]: OtlpValue };

type JsonObject = Record<string, unknown>;

const NANOS_PER_SECOND = 1_000_000_000n;

// Indexed by OTLP enum value.
const SPAN_KIND_NAMES = [
  "SPAN_KIND_UNSPECIFIED",
  "SPAN_KIND_INTERNAL",
  "SPAN_KIND_SERVER",
  "SPAN_KIND_CLIENT",
  "SPAN_KIND_PRODUCER",
  "SPAN_KIND_CONSUMER",
];
const STATUS_CODE_NAMES = ["STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"];
const ANY_VALUE_KINDS = ["stringValue", "boolValue", "intValue", "doubleValue", "arrayValue", "kvlistValue", "bytesValue"] as const;

// Bits above the W3C trace flags in OTLP `flags` (trace.proto SpanFlags).
const FLAG_HAS_IS_REMOTE = 0x100;
const FLAG_IS_REMOTE = 0x200;

/**
 * Converts an OTLP/JSON `ExportTraceServiceRequest` (what
 * `@opentelemetry/exporter-trace-otlp-http` POSTs, one line of the collector's
 * file exporter), or an array of them, into `ReadableSpan`s.
 * Throws an `Error` naming the malformed part, e.g.
 * `resourceSpans[0].scopeSpans[1].spans[3]: traceId missing`.
 */
export function spansFromOtlpJson(payload: unknown): ReadableSpan[] {
  if (typeof payload === "string") {
    throw new StagetraceError("INVALID_INPUT", "payload: got a string; use spansFromOtlpJsonText for JSON text");
  }
  if (!Array.isArray(payload)) return spansFromRequest(payload, "");
  const spans: ReadableSpan[] = [];
  payload.forEach((request, i) => pushAll(spans, spansFromRequest(request, `[${i}]`)));
  return spans;
}

/**
 * Like `spansFromOtlpJson`, for text: one JSON document (a request or an array
 * of requests), or JSON Lines with one request per line as the collector's
 * file exporter writes them.
 */
export function spansFromOtlpJsonText(text: string): ReadableSpan[] {
  if (text.trim() === "") return [];
  let whole: unknown;
  try {
    whole = JSON.parse(text);
  } catch {
    return spansFromJsonLines(text);
  }
  return spansFromOtlpJson(whole);
}

function spansFromJsonLines(text: string): ReadableSpan[] {
  const spans: ReadableSpan[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === "") return;
    let request: unknown;
    try {
      request = JSON.parse(line);
    } catch (error) {
      throw new StagetraceError("INVALID_INPUT", `line ${i + 1}: not valid JSON (${(error as Error).message})`, { cause: error });
    }
    try {
      pushAll(spans, spansFromOtlpJson(request));
    } catch (error) {
      throw new StagetraceError("INVALID_INPUT", `line ${i + 1}: ${(error as Error).message}`, { cause: error });
    }
  });
  return spans;
}

function spansFromRequest(request: unknown, path: string): ReadableSpan[] {
  const spans: ReadableSpan[] = [];
  const body = object(request, path || "payload");
  list(body.resourceSpans, join(path, "resourceSpans")).forEach((rs, r) => {
    const rsPath = `${join(path, "resourceSpans")}[${r}]`;
    const resourceSpans = object(rs, rsPath);
    // One Resource and one scope object per group, shared by their spans: the
    // OTLP serializer groups spans by object identity, so re-exporting decoded
    // spans keeps them in the same groups.
    const resource = decodeResource(resourceSpans, rsPath);
    list(resourceSpans.scopeSpans, `${rsPath}.scopeSpans`).forEach((ss, s) => {
      const ssPath = `${rsPath}.scopeSpans[${s}]`;
      const scopeSpans = object(ss, ssPath);
      const scope = decodeScope(scopeSpans, ssPath);
      list(scopeSpans.spans, `${ssPath}.spans`).forEach((span, i) => {
        spans.push(decodeSpan(span, `${ssPath}.spans[${i}]`, resource, scope));
      });
    });
  });
  return spans;
}

function decodeResource(resourceSpans: JsonObject, path: string): Resource {
  const resource = resourceSpans.resource === undefined ? {} : object(resourceSpans.resource, `${path}.resource`);
  const attributes = decodeOtlpAttributes(resource.attributes, `${path}.resource.attributes`);
  const schemaUrl = optionalString(resourceSpans.schemaUrl, path, "schemaUrl");
  return resourceFromAttributes(attributes as DetectedResourceAttributes, schemaUrl ? { schemaUrl } : undefined);
}

function decodeScope(scopeSpans: JsonObject, path: string): InstrumentationScope {
  const scope = scopeSpans.scope === undefined ? {} : object(scopeSpans.scope, `${path}.scope`);
  const version = optionalString(scope.version, `${path}.scope`, "version");
  // The scope's schema URL travels on ScopeSpans, not on the scope itself.
  const schemaUrl = optionalString(scopeSpans.schemaUrl, path, "schemaUrl");
  return {
    name: optionalString(scope.name, `${path}.scope`, "name") ?? "",
    ...(version ? { version } : {}),
    ...(schemaUrl ? { schemaUrl } : {}),
  };
}

function decodeSpan(value: unknown, path: string, resource: Resource, instrumentationScope: InstrumentationScope): ReadableSpan {
  const span = object(value, path);
  const traceId = decodeOtlpId(required(span, "traceId", path), 16, `${path}: traceId`);
  const spanId = decodeOtlpId(required(span, "spanId", path), 8, `${path}: spanId`);
  const flags = optionalCount(span.flags, path, "flags");
  // A span without `flags` (older producers) was exported, so it was sampled.
  const traceFlags = flags === undefined ? TraceFlags.SAMPLED : flags & 0xff;
  const traceState = optionalString(span.traceState, path, "traceState");
  const context: SpanContext = {
    traceId,
    spanId,
    traceFlags,
    ...(traceState ? { traceState: createTraceState(traceState) } : {}),
  };

  const parentSpanId = decodeOptionalOtlpId(span.parentSpanId, 8, `${path}: parentSpanId`);
  let parentSpanContext: SpanContext | undefined;
  if (parentSpanId !== undefined) {
    // OTLP carries only the parent's id and whether it was remote; its trace
    // flags are taken from the span, which inherited them.
    parentSpanContext = { traceId, spanId: parentSpanId, traceFlags };
    const isRemote = remoteFlag(flags);
    if (isRemote !== undefined) parentSpanContext.isRemote = isRemote;
  }

  const startTime = otlpNanosToHrTime(required(span, "startTimeUnixNano", path), `${path}: startTimeUnixNano`);
  const endTime = otlpNanosToHrTime(required(span, "endTimeUnixNano", path), `${path}: endTimeUnixNano`);

  return {
    name: optionalString(span.name, path, "name") ?? "",
    kind: decodeKind(span.kind, path),
    spanContext: () => context,
    ...(parentSpanContext ? { parentSpanContext } : {}),
    startTime,
    endTime,
    duration: hrTimeDuration(startTime, endTime),
    status: decodeStatus(span.status, path),
    attributes: decodeOtlpAttributes(span.attributes, `${path}.attributes`) as Attributes,
    links: list(span.links, `${path}.links`).map((link, i) => decodeLink(link, `${path}.links[${i}]`)),
    events: list(span.events, `${path}.events`).map((event, i) => decodeEvent(event, `${path}.events[${i}]`)),
    ended: true,
    resource,
    instrumentationScope,
    droppedAttributesCount: optionalCount(span.droppedAttributesCount, path, "droppedAttributesCount") ?? 0,
    droppedEventsCount: optionalCount(span.droppedEventsCount, path, "droppedEventsCount") ?? 0,
    droppedLinksCount: optionalCount(span.droppedLinksCount, path, "droppedLinksCount") ?? 0,
  };
}

function decodeKind(value: unknown, path: string): SpanKind {
  if (value === undefined || value === null) return SpanKind.INTERNAL;
  // The OTLP spec asks for integers, but canonical proto3 JSON writes enum names.
  const index = typeof value === "string" ? SPAN_KIND_NAMES.indexOf(value) : value;
  if (typeof index === "number" && Number.isInteger(index) && index >= 0 && index <= 5) {
    // OTLP reserves 0 for "unspecified", so its kinds are the API's plus one.
    return index === 0 ? SpanKind.INTERNAL : index - 1;
  }
  throw new StagetraceError("INVALID_INPUT", `${path}: kind must be 0..5 or a SPAN_KIND_* name, got ${JSON.stringify(value)}`);
}

function decodeStatus(value: unknown, path: string): SpanStatus {
  if (value === undefined || value === null) return { code: SpanStatusCode.UNSET };
  const status = object(value, `${path}.status`);
  const raw = status.code ?? 0;
  const code = typeof raw === "string" ? STATUS_CODE_NAMES.indexOf(raw) : raw;
  if (code !== 0 && code !== 1 && code !== 2) {
    throw new StagetraceError("INVALID_INPUT", `${path}.status: code must be 0, 1, 2 or a STATUS_CODE_* name, got ${JSON.stringify(raw)}`);
  }
  const message = optionalString(status.message, `${path}.status`, "message");
  return message ? { code, message } : { code };
}

function decodeEvent(value: unknown, path: string): TimedEvent {
  const event = object(value, path);
  return {
    name: optionalString(event.name, path, "name") ?? "",
    time: otlpNanosToHrTime(required(event, "timeUnixNano", path), `${path}: timeUnixNano`),
    attributes: decodeOtlpAttributes(event.attributes, `${path}.attributes`) as Attributes,
    droppedAttributesCount: optionalCount(event.droppedAttributesCount, path, "droppedAttributesCount") ?? 0,
  };
}

function decodeLink(value: unknown, path: string): Link {
  const link = object(value, path);
  const flags = optionalCount(link.flags, path, "flags");
  const traceState = optionalString(link.traceState, path, "traceState");
  const isRemote = remoteFlag(flags);
  const context: SpanContext = {
    traceId: decodeOtlpId(required(link, "traceId", path), 16, `${path}: traceId`),
    spanId: decodeOtlpId(required(link, "spanId", path), 8, `${path}: spanId`),
    traceFlags: flags === undefined ? TraceFlags.NONE : flags & 0xff,
    ...(traceState ? { traceState: createTraceState(traceState) } : {}),
    ...(isRemote !== undefined ? { isRemote } : {}),
  };
  return {
    context,
    attributes: decodeOtlpAttributes(link.attributes, `${path}.attributes`) as Attributes,
    droppedAttributesCount: optionalCount(link.droppedAttributesCount, path, "droppedAttributesCount") ?? 0,
  };
}

function remoteFlag(flags: number | undefined): boolean | undefined {
  if (flags === undefined || (flags & FLAG_HAS_IS_REMOTE) === 0) return undefined;
  return (flags & FLAG_IS_REMOTE) !== 0;
}

/**
 * Decodes a trace id (16 bytes) or span id (8 bytes) to lowercase hex.
 * OTLP/JSON specifies hex, but canonical proto3 JSON (protojson,
 * `MessageToJson`) writes bytes fields as base64; the lengths never collide.
 * `where` prefixes the error message.
 */
export function decodeOtlpId(value: unknown, byteLength: 8 | 16, where = "id"): string {
  if (typeof value === "string") {
    if (value.length === byteLength * 2 && /^[0-9a-f]+$/i.test(value)) return value.toLowerCase();
    if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(value)) {
      const bytes = Buffer.from(value, "base64");
      if (bytes.length === byteLength) return bytes.toString("hex");
    }
  }
  throw new StagetraceError(
    "INVALID_INPUT",
    `${where} must be ${byteLength * 2} hex digits or base64 of ${byteLength} bytes, got ${JSON.stringify(value)}`,
  );
}

/** Like `decodeOtlpId`, but absent, `""` and all-zero ids mean "no id". */
export function decodeOptionalOtlpId(value: unknown, byteLength: 8 | 16, where = "id"): string | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  const id = decodeOtlpId(value, byteLength, where);
  return /^0+$/.test(id) ? undefined : id;
}

/**
 * Converts OTLP nanoseconds since the epoch to `[seconds, nanos]`, exactly:
 * the split is done on a BigInt. Times arriving as JSON numbers above 2^53
 * were already rounded by `JSON.parse`; only the string form is lossless.
 */
export function otlpNanosToHrTime(value: unknown, where = "timeUnixNano"): HrTime {
  let nanos: bigint;
  if (typeof value === "string" && /^\d+$/.test(value)) nanos = BigInt(value);
  else if (typeof value === "number" && Number.isInteger(value) && value >= 0) nanos = BigInt(value);
  else
    throw new StagetraceError(
      "INVALID_INPUT",
      `${where} must be a non-negative integer or a string of digits, got ${JSON.stringify(value)}`,
    );
  return [Number(nanos / NANOS_PER_SECOND), Number(nanos % NANOS_PER_SECOND)];
}

/** Decodes an OTLP `KeyValue[]` into a plain object. `where` names the list in errors. */
export function decodeOtlpAttributes(value: unknown, where = "attributes"): Record<string, OtlpValue> {
  return Object.fromEntries(
    list(value, where).map((entry, i) => {
      const kv = object(entry, `${where}[${i}]`);
      if (typeof kv.key !== "string") throw new StagetraceError("INVALID_INPUT", `${where}[${i}]: key missing or not a string`);
      // fromEntries defines properties, so a key like "__proto__" stays data.
      return [kv.key, decodeOtlpAnyValue(kv.value, `${where}[${i}].value`)];
    }),
  );
}

/**
 * Decodes an OTLP `AnyValue` to a plain value. `intValue` (a string per the
 * spec, a number from the JS exporter) becomes a number, so int64 values
 * beyond 2^53 lose precision; `bytesValue` stays a base64 string.
 */
export function decodeOtlpAnyValue(value: unknown, where = "value"): OtlpValue {
  if (value === undefined || value === null) return null;
  const any = object(value, where);
  const kind = ANY_VALUE_KINDS.find((key) => key in any);
  const v = kind === undefined ? undefined : any[kind];
  switch (kind) {
    case undefined:
      return null;
    case "stringValue":
    case "bytesValue":
      if (typeof v === "string") return v;
      break;
    case "boolValue":
      if (typeof v === "boolean") return v;
      break;
    case "intValue":
      if (typeof v === "number" && Number.isInteger(v)) return v;
      if (typeof v === "string" && /^-?\d+$/.test(v)) return Number(v);
      break;
    case "doubleValue":
      if (typeof v === "number") return v;
      // JSON.stringify writes NaN and ±Infinity as null, so the JS exporter
      // sends null for all three; NaN is the only honest reading.
      if (v === null) return Number.NaN;
      // Canonical proto3 JSON writes doubles that JSON cannot hold as strings.
      if (v === "NaN" || (typeof v === "string" && v.trim() !== "" && !Number.isNaN(Number(v)))) return Number(v);
      break;
    case "arrayValue": {
      const values = object(v, `${where}.arrayValue`).values;
      return list(values, `${where}.arrayValue.values`).map((item, i) => decodeOtlpAnyValue(item, `${where}.arrayValue.values[${i}]`));
    }
    case "kvlistValue":
      return decodeOtlpAttributes(object(v, `${where}.kvlistValue`).values, `${where}.kvlistValue.values`);
  }
  throw new StagetraceError("INVALID_INPUT", `${where}: ${kind} has the wrong type: ${JSON.stringify(v)}`);
}

function object(value: unknown, where: string): JsonObject {
  if (typeof value === "object" && value !== null && !Array.isArray(value)) return value as JsonObject;
  throw new StagetraceError("INVALID_INPUT", `${where}: expected an object, got ${describe(value)}`);
}

// Proto3 JSON omits empty repeated fields, so absent means empty.
function list(value: unknown, where: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) return value;
  throw new StagetraceError("INVALID_INPUT", `${where}: expected an array, got ${describe(value)}`);
}

function required(obj: JsonObject, key: string, where: string): unknown {
  const value = obj[key];
  if (value === undefined || value === null || value === "") throw new StagetraceError("INVALID_INPUT", `${where}: ${key} missing`);
  return value;
}

function optionalString(value: unknown, where: string, key: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return value;
  throw new StagetraceError("INVALID_INPUT", `${where}: ${key} must be a string, got ${describe(value)}`);
}

function optionalCount(value: unknown, where: string, key: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  const count = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof count === "number" && Number.isInteger(count) && count >= 0) return count;
  throw new StagetraceError("INVALID_INPUT", `${where}: ${key} must be a non-negative integer, got ${JSON.stringify(value)}`);
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : `${typeof value} ${JSON.stringify(value)}`;
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

// push(...items) overflows the call stack for very large arrays.
function pushAll<T>(target: T[], items: readonly T[]): void {
  for (const item of items) target.push(item);
}
