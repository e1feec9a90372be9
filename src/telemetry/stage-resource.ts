/**
 * The resource of a stage process's telemetry: the SDK's own attributes,
 * the process's `host.*` and `process.*`, what `OTEL_RESOURCE_ATTRIBUTES`
 * adds, and the service name. One function for a process's own resource and
 * for that of a stage process whose records the run's agent exports, so a
 * stage's spans, log records and heartbeats name the same service and the
 * same process in both modes.
 */
import type { Attributes } from "@opentelemetry/api";
import { defaultResource, resourceFromAttributes, type Resource } from "@opentelemetry/resources";
import { resourceAttributesFromEnv } from "../config/telemetry-config.js";
import type { Env } from "../config/env-rules.js";

/** `processAttributes` (the process's host and process), then `OTEL_RESOURCE_ATTRIBUTES` of `env`, then `service.name`. */
export function stageResource(processAttributes: Attributes, env: Env, serviceName: string): Resource {
  return defaultResource()
    .merge(resourceFromAttributes(processAttributes))
    .merge(resourceFromAttributes(resourceAttributesFromEnv(env)))
    .merge(resourceFromAttributes({ "service.name": serviceName }));
}

/** A resource's attributes as a plain object (for the log worker, which takes plain data). */
export function plainAttributes(resource: Resource): Attributes {
  const out: Attributes = {};
  for (const [k, v] of Object.entries(resource.attributes)) if (v !== undefined) out[k] = v;
  return out;
}
