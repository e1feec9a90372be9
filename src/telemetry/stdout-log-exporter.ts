/**
 * The `console` log exporter (`OTEL_LOGS_EXPORTER=console`). It prints what
 * OpenTelemetry's `ConsoleLogRecordExporter` prints, but writes it to file
 * descriptor 1 synchronously: the log exporter runs in pino's worker thread,
 * whose `process.stdout` reaches the stage's stdout through a message port,
 * and what is still in that port when the stage's process exits is lost.
 */
import { ExportResultCode, hrTimeToMicroseconds, type ExportResult } from "@opentelemetry/core";
import type { LogRecordExporter, ReadableLogRecord } from "@opentelemetry/sdk-logs";
import { writeSync } from "node:fs";
import { inspect } from "node:util";

export class StdoutLogRecordExporter implements LogRecordExporter {
  export(records: ReadableLogRecord[], done: (result: ExportResult) => void): void {
    try {
      const text = records.map((r) => inspect(describe(r), { depth: 3 }) + "\n").join("");
      writeAll(text);
      done({ code: ExportResultCode.SUCCESS });
    } catch (error) {
      done({ code: ExportResultCode.FAILED, error: error as Error });
    }
  }

  async forceFlush(): Promise<void> {}

  async shutdown(): Promise<void> {}
}

function describe(record: ReadableLogRecord) {
  return {
    resource: { attributes: record.resource.attributes },
    instrumentationScope: record.instrumentationScope,
    timestamp: hrTimeToMicroseconds(record.hrTime),
    traceId: record.spanContext?.traceId,
    spanId: record.spanContext?.spanId,
    traceFlags: record.spanContext?.traceFlags,
    severityText: record.severityText,
    severityNumber: record.severityNumber,
    eventName: record.eventName,
    body: record.body,
    attributes: record.attributes,
  };
}

// A pipe that is full answers EAGAIN when stdout is non-blocking; retry the rest.
function writeAll(text: string): void {
  let buffer = Buffer.from(text);
  while (buffer.length > 0) {
    try {
      buffer = buffer.subarray(writeSync(1, buffer));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EAGAIN") throw error;
    }
  }
}
