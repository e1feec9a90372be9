/**
 * In the OTLP log worker: the records of stages the run's agent hosts get
 * their own stage process's resource. The stage thread marks each of their
 * lines with a resource number (LOG_RESOURCE_REF, which becomes an
 * attribute of the record) after a line that defines it
 * (LOG_RESOURCE_DEF); this exporter, in front of the real ones, puts each
 * marked record on its resource and drops the mark.
 */
import type { Attributes } from "@opentelemetry/api";
import type { ExportResult } from "@opentelemetry/core";
import { resourceFromAttributes, type Resource } from "@opentelemetry/resources";
import type { LogRecordExporter, ReadableLogRecord } from "@opentelemetry/sdk-logs";
import { LOG_RESOURCE_DEF, LOG_RESOURCE_REF } from "../conventions.js";

export class HostedResources {
  private readonly resources = new Map<number, Resource>();

  /** True when `line` defines a resource (and is not a log line). */
  define(line: Record<string, unknown>): boolean {
    const id = line[LOG_RESOURCE_DEF];
    if (typeof id !== "number") return false;
    const attributes = line.attributes;
    if (typeof attributes === "object" && attributes !== null) this.resources.set(id, resourceFromAttributes(attributes as Attributes));
    return true;
  }

  /** `record` on the resource its mark names, without the mark; unmarked records (and unknown marks) as they are, the mark dropped. */
  place(record: ReadableLogRecord): ReadableLogRecord {
    const id = record.attributes[LOG_RESOURCE_REF];
    if (id === undefined) return record;
    const { [LOG_RESOURCE_REF]: _mark, ...attributes } = record.attributes;
    return {
      resource: (typeof id === "number" ? this.resources.get(id) : undefined) ?? record.resource,
      instrumentationScope: record.instrumentationScope,
      hrTime: record.hrTime,
      hrTimeObserved: record.hrTimeObserved,
      ...(record.spanContext ? { spanContext: record.spanContext } : {}),
      ...(record.severityText !== undefined ? { severityText: record.severityText } : {}),
      ...(record.severityNumber !== undefined ? { severityNumber: record.severityNumber } : {}),
      ...(record.body !== undefined ? { body: record.body } : {}),
      ...(record.eventName !== undefined ? { eventName: record.eventName } : {}),
      attributes,
      droppedAttributesCount: record.droppedAttributesCount,
    };
  }

  /** `inner` with every record placed first. */
  exporter(inner: LogRecordExporter): LogRecordExporter {
    return {
      export: (records: ReadableLogRecord[], done: (result: ExportResult) => void) =>
        inner.export(
          records.map((r) => this.place(r)),
          done,
        ),
      forceFlush: () => inner.forceFlush?.() ?? Promise.resolve(),
      shutdown: () => inner.shutdown(),
    };
  }
}
