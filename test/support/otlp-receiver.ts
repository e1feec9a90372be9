import { createServer } from "node:http";
import { createServer as createTlsServer } from "node:https";
import type { TLSSocket } from "node:tls";
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { promisify } from "node:util";
import { gunzip } from "node:zlib";
import { fileURLToPath } from "node:url";
import protobuf from "protobufjs";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import {
  decodeOptionalOtlpId,
  decodeOtlpAnyValue,
  decodeOtlpAttributes,
  spansFromOtlpJson,
  type OtlpValue,
} from "../../src/otlp/otlp-json.js";

const gunzipAsync = promisify(gunzip);

// Protobuf bodies are decoded with protobufjs from the official
// opentelemetry-proto definitions (test/fixtures/otlp-proto, unchanged).
const PROTO_ROOT = fileURLToPath(new URL("../fixtures/otlp-proto/", import.meta.url));
const protoRoot = new protobuf.Root();
protoRoot.resolvePath = (_origin, target) => (target.startsWith("/") ? target : PROTO_ROOT + target);
protoRoot.loadSync([
  "opentelemetry/proto/collector/trace/v1/trace_service.proto",
  "opentelemetry/proto/collector/metrics/v1/metrics_service.proto",
  "opentelemetry/proto/collector/logs/v1/logs_service.proto",
]);
/** The request message of each OTLP/HTTP path. */
export const OTLP_REQUEST_TYPES: Record<string, protobuf.Type> = {
  "/v1/traces": protoRoot.lookupType("opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest"),
  "/v1/metrics": protoRoot.lookupType("opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest"),
  "/v1/logs": protoRoot.lookupType("opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest"),
};
const ID_FIELDS = new Set(["traceId", "spanId", "parentSpanId"]);

/**
 * A protobuf request decoded by protobufjs, in the shape of OTLP/JSON
 * (lowerCamelCase fields, trace and span ids in hex, 64-bit integers as
 * strings), so the same readers serve both encodings.
 */
export function decodeOtlpProtobuf(path: string, body: Buffer): unknown {
  const type = OTLP_REQUEST_TYPES[path];
  if (!type) throw new Error(`no OTLP request type for ${path}`);
  const object = type.toObject(type.decode(body), { longs: String, bytes: String, enums: Number, defaults: false });
  const hexIds = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(hexIds);
    if (value === null || typeof value !== "object") return value;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = ID_FIELDS.has(k) && typeof v === "string" ? Buffer.from(v, "base64").toString("hex") : hexIds(v);
    return out;
  };
  return hexIds(object);
}

/**
 * How the receiver answers each POST:
 * - `ok`: 200 `{}`
 * - `status-500`: 500 (the JS OTLP exporter treats it as non-retryable)
 * - `status-429`: 429 with `Retry-After: 1` (retryable)
 * - `hang`: never answers
 * - `slow`: 200 `{}` after `delayMs`
 * - `reset`: destroys the socket once the body has arrived
 */
export type ReceiverBehaviour = "ok" | "status-500" | "status-429" | "hang" | "slow" | "reset";

export interface OtlpReceiverOptions {
  behaviour?: ReceiverBehaviour;
  /** Delay for `slow`, in milliseconds. Default 1000. */
  delayMs?: number;
  /**
   * Serve HTTPS with this key and certificate (PEM); with `ca`, a client
   * certificate signed by it is required. The URL is then `https://127.0.0.1:PORT`.
   */
  tls?: { key: Buffer; cert: Buffer; ca?: Buffer };
}

export interface ReceivedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** The parsed JSON body, or a protobuf body decoded into the same shape (see decodeOtlpProtobuf); undefined for empty or unparseable bodies. */
  readonly body: unknown;
  /** The body as received, after gunzip. */
  readonly rawBody: Buffer;
  /** True when `content-type` was `application/x-protobuf`. */
  readonly protobuf: boolean;
  /** Why the body could not be gunzipped or parsed as JSON, if it could not. */
  readonly error?: string;
  /** Over TLS with a client certificate: its subject's common name. */
  readonly clientCertificateCN?: string;
}

export interface ReceivedLogRecord {
  readonly traceId?: string;
  readonly spanId?: string;
  readonly severityNumber?: number;
  readonly severityText?: string;
  readonly eventName?: string;
  /** Nanoseconds since the epoch, as sent. */
  readonly timeUnixNano?: string;
  readonly body: OtlpValue;
  readonly attributes: Record<string, OtlpValue>;
  readonly resourceAttributes: Record<string, OtlpValue>;
  readonly scopeName: string;
}

/** One data point of a gauge, sum or histogram from a JSON POST to /v1/metrics. */
export interface ReceivedMetricPoint {
  /** The metric's name, as sent (`stagetrace.stage.active`). */
  readonly name: string;
  readonly unit: string;
  /** `gauge`, `sum`, `histogram`, ... : the data field the metric was sent in. */
  readonly kind: string;
  /** `asDouble` or `asInt` as a number; undefined for histograms. */
  readonly value?: number;
  /** Nanoseconds since the epoch, as sent. */
  readonly timeUnixNano?: string;
  readonly attributes: Record<string, OtlpValue>;
  readonly resourceAttributes: Record<string, OtlpValue>;
  readonly scopeName: string;
}

export interface OtlpReceiver {
  /** `http://127.0.0.1:PORT`, without a path. */
  readonly url: string;
  /** Every request received, in arrival order, whatever the behaviour answered. */
  readonly requests: readonly ReceivedRequest[];
  /** All spans from POSTs to /v1/traces (JSON or protobuf); a retried batch appears once per attempt. */
  spans(): ReadableSpan[];
  /** All log records from POSTs to /v1/logs (JSON or protobuf), flattened. */
  logRecords(): ReceivedLogRecord[];
  /** All metric data points from POSTs to /v1/metrics (JSON or protobuf), flattened, in arrival order. */
  metricPoints(): ReceivedMetricPoint[];
  /**
   * Resolves as soon as `predicate` holds, re-checking on each request's
   * arrival; rejects after `timeoutMs` (default 5000) describing what arrived.
   */
  waitFor(predicate: (receiver: OtlpReceiver) => boolean, timeoutMs?: number): Promise<void>;
  /** Stops listening and destroys open sockets, including requests left hanging. */
  close(): Promise<void>;
}

interface Waiter {
  check(): void;
  fail(error: Error): void;
}

export async function startOtlpReceiver(opts: OtlpReceiverOptions = {}): Promise<OtlpReceiver> {
  const behaviour = opts.behaviour ?? "ok";
  const delayMs = opts.delayMs ?? 1000;
  const requests: ReceivedRequest[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const waiters = new Set<Waiter>();

  const tls = opts.tls;
  const server = tls
    ? createTlsServer({ key: tls.key, cert: tls.cert, ...(tls.ca ? { ca: tls.ca, requestCert: true, rejectUnauthorized: true } : {}) }, (req, res) => void handle(req, res))
    : createServer((req, res) => void handle(req, res));
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? "/", "http://receiver").pathname;
    const protobuf = (req.headers["content-type"] ?? "").startsWith("application/x-protobuf");
    let rawBody = Buffer.alloc(0);
    let body: unknown;
    let error: string | undefined;
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      rawBody = Buffer.concat(chunks);
      if (req.headers["content-encoding"] === "gzip") rawBody = await gunzipAsync(rawBody);
      if (rawBody.length > 0) body = protobuf ? decodeOtlpProtobuf(path, rawBody) : JSON.parse(rawBody.toString("utf8"));
    } catch (err) {
      if (req.destroyed && !req.complete) return; // the client went away mid-body
      error = (err as Error).message;
    }
    const peer = tls?.ca ? (req.socket as TLSSocket).getPeerCertificate() : undefined;
    const cn = peer && typeof peer.subject?.CN === "string" ? { clientCertificateCN: peer.subject.CN } : {};
    requests.push({ method: req.method ?? "", path, headers: req.headers, body, rawBody, protobuf, ...(error ? { error } : {}), ...cn });
    for (const waiter of waiters) waiter.check();

    if (req.method !== "POST" || (path !== "/v1/traces" && path !== "/v1/logs" && path !== "/v1/metrics")) {
      return answer(res, 404, { error: `no OTLP endpoint at ${req.method} ${path}` });
    }
    if (error) return answer(res, 400, { error });
    switch (behaviour) {
      case "ok":
        return answer(res, 200, {}, protobuf);
      case "status-500":
        return answer(res, 500, { error: "receiver configured to fail" });
      case "status-429":
        return answer(res, 429, { error: "receiver configured to throttle" }, false, { "retry-after": "1" });
      case "hang":
        return;
      case "slow": {
        const timer = setTimeout(() => {
          timers.delete(timer);
          answer(res, 200, {}, protobuf);
        }, delayMs);
        timers.add(timer);
        return;
      }
      case "reset":
        req.socket.destroy();
        return;
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  const receiver: OtlpReceiver = {
    url: `${tls ? "https" : "http"}://127.0.0.1:${port}`,
    requests,
    spans() {
      return jsonBodies(requests, "/v1/traces").flatMap(({ body }) => spansFromOtlpJson(body));
    },
    logRecords() {
      return jsonBodies(requests, "/v1/logs").flatMap(({ body, index }) => logRecordsFrom(body, `requests[${index}]`));
    },
    metricPoints() {
      return jsonBodies(requests, "/v1/metrics").flatMap(({ body, index }) => metricPointsFrom(body, `requests[${index}]`));
    },
    waitFor(predicate, timeoutMs = 5000) {
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => waiter.fail(new Error(`waitFor: predicate still false after ${timeoutMs}ms; received ${describe(receiver)}`)),
          timeoutMs,
        );
        const settle = (): void => {
          clearTimeout(timer);
          waiters.delete(waiter);
        };
        const waiter: Waiter = {
          check() {
            try {
              if (!predicate(receiver)) return;
            } catch (err) {
              waiter.fail(err as Error);
              return;
            }
            settle();
            resolve();
          },
          fail(err) {
            settle();
            reject(err);
          },
        };
        waiters.add(waiter);
        waiter.check();
      });
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const waiter of waiters) {
        waiter.fail(new Error(`waitFor: receiver closed before predicate held; received ${describe(receiver)}`));
      }
      // The callback's error (server already closed) is irrelevant here.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // server.close() alone waits for keep-alive and hanging connections.
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
  return receiver;
}

function answer(
  res: ServerResponse,
  status: number,
  json: object,
  protobuf = false,
  headers: Record<string, string> = {},
): void {
  if (res.destroyed) return;
  // An empty body is a valid empty protobuf Export*ServiceResponse; "{}" is not.
  const body = protobuf ? "" : JSON.stringify(json);
  res.writeHead(status, {
    "content-type": protobuf ? "application/x-protobuf" : "application/json",
    "content-length": Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}

function jsonBodies(requests: readonly ReceivedRequest[], path: string): { body: unknown; index: number }[] {
  return requests
    .map((request, index) => ({ request, index, body: request.body }))
    .filter(({ request }) => request.path === path && request.body !== undefined);
}

function logRecordsFrom(payload: unknown, where: string): ReceivedLogRecord[] {
  const records: ReceivedLogRecord[] = [];
  asList(asObject(payload, where).resourceLogs, `${where}.resourceLogs`).forEach((rl, r) => {
    const rlPath = `${where}.resourceLogs[${r}]`;
    const resourceLogs = asObject(rl, rlPath);
    const resource = asObject(resourceLogs.resource ?? {}, `${rlPath}.resource`);
    const resourceAttributes = decodeOtlpAttributes(resource.attributes, `${rlPath}.resource.attributes`);
    asList(resourceLogs.scopeLogs, `${rlPath}.scopeLogs`).forEach((sl, s) => {
      const slPath = `${rlPath}.scopeLogs[${s}]`;
      const scopeLogs = asObject(sl, slPath);
      const scope = asObject(scopeLogs.scope ?? {}, `${slPath}.scope`);
      asList(scopeLogs.logRecords, `${slPath}.logRecords`).forEach((lr, i) => {
        const path = `${slPath}.logRecords[${i}]`;
        const log = asObject(lr, path);
        const traceId = decodeOptionalOtlpId(log.traceId, 16, `${path}: traceId`);
        const spanId = decodeOptionalOtlpId(log.spanId, 8, `${path}: spanId`);
        records.push({
          ...(traceId ? { traceId } : {}),
          ...(spanId ? { spanId } : {}),
          ...(typeof log.severityNumber === "number" ? { severityNumber: log.severityNumber } : {}),
          ...(typeof log.severityText === "string" ? { severityText: log.severityText } : {}),
          ...(typeof log.eventName === "string" && log.eventName ? { eventName: log.eventName } : {}),
          ...(log.timeUnixNano !== undefined ? { timeUnixNano: String(log.timeUnixNano) } : {}),
          body: decodeOtlpAnyValue(log.body, `${path}.body`),
          attributes: decodeOtlpAttributes(log.attributes, `${path}.attributes`),
          resourceAttributes,
          scopeName: typeof scope.name === "string" ? scope.name : "",
        });
      });
    });
  });
  return records;
}

function metricPointsFrom(payload: unknown, where: string): ReceivedMetricPoint[] {
  const points: ReceivedMetricPoint[] = [];
  asList(asObject(payload, where).resourceMetrics, `${where}.resourceMetrics`).forEach((rm, r) => {
    const rmPath = `${where}.resourceMetrics[${r}]`;
    const resourceMetrics = asObject(rm, rmPath);
    const resource = asObject(resourceMetrics.resource ?? {}, `${rmPath}.resource`);
    const resourceAttributes = decodeOtlpAttributes(resource.attributes, `${rmPath}.resource.attributes`);
    asList(resourceMetrics.scopeMetrics, `${rmPath}.scopeMetrics`).forEach((sm, s) => {
      const smPath = `${rmPath}.scopeMetrics[${s}]`;
      const scopeMetrics = asObject(sm, smPath);
      const scope = asObject(scopeMetrics.scope ?? {}, `${smPath}.scope`);
      asList(scopeMetrics.metrics, `${smPath}.metrics`).forEach((m, i) => {
        const path = `${smPath}.metrics[${i}]`;
        const metric = asObject(m, path);
        const kind = ["gauge", "sum", "histogram", "exponentialHistogram", "summary"].find((k) => metric[k] !== undefined) ?? "unknown";
        const data = kind === "unknown" ? {} : asObject(metric[kind], `${path}.${kind}`);
        asList(data.dataPoints, `${path}.${kind}.dataPoints`).forEach((dp, d) => {
          const point = asObject(dp, `${path}.${kind}.dataPoints[${d}]`);
          const raw = point.asDouble ?? point.asInt;
          points.push({
            name: typeof metric.name === "string" ? metric.name : "",
            unit: typeof metric.unit === "string" ? metric.unit : "",
            kind,
            ...(raw !== undefined ? { value: Number(raw) } : {}),
            ...(point.timeUnixNano !== undefined ? { timeUnixNano: String(point.timeUnixNano) } : {}),
            attributes: decodeOtlpAttributes(point.attributes, `${path}.${kind}.dataPoints[${d}].attributes`),
            resourceAttributes,
            scopeName: typeof scope.name === "string" ? scope.name : "",
          });
        });
      });
    });
  });
  return points;
}

function asObject(value: unknown, where: string): Record<string, unknown> {
  if (typeof value === "object" && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  throw new Error(`${where}: expected an object`);
}

function asList(value: unknown, where: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) return value;
  throw new Error(`${where}: expected an array`);
}

/** One line per request, for timeout messages: what arrived and what it held. */
function describe(receiver: OtlpReceiver): string {
  if (receiver.requests.length === 0) return "no requests";
  const lines = receiver.requests.map((request) => {
    const kind = request.protobuf ? "protobuf" : "json";
    let content = request.error ? `error: ${request.error}` : `${request.rawBody.length} bytes`;
    try {
      if (request.path === "/v1/traces" && request.body !== undefined) {
        content = `spans: ${spansFromOtlpJson(request.body).map((span) => span.name).join(", ") || "none"}`;
      } else if (request.path === "/v1/logs" && request.body !== undefined) {
        content = `${logRecordsFrom(request.body, "body").length} log records`;
      } else if (request.path === "/v1/metrics" && request.body !== undefined) {
        content = `metrics: ${[...new Set(metricPointsFrom(request.body, "body").map((p) => p.name))].join(", ") || "none"}`;
      }
    } catch (err) {
      content = `undecodable: ${(err as Error).message}`;
    }
    return `  ${request.method} ${request.path} (${kind}) ${content}`;
  });
  return `${receiver.requests.length} request(s):\n${lines.join("\n")}`;
}
