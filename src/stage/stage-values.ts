import type { Attributes, Span } from "@opentelemetry/api";
import { ATTR, EXCEPTION_ATTR, EXCEPTION_EVENT, WARNING_ATTR, WARNING_EVENT } from "../conventions.js";
import { flattenToAttributes, truncate } from "../values/recorded-values.js";
import type { SecretValues } from "../values/redaction.js";

/**
 * What a stage records on its span besides files: config and resources as
 * attributes (flattened, redacted), warnings and errors as events (secrets
 * scrubbed), and the extra fields of finalize().
 */
export class StageValues {
  /** The type of the first error recorded: the span's `error.type` when the stage fails. */
  firstErrorType: string | undefined;

  constructor(
    private readonly span: Span,
    private readonly secrets: SecretValues,
  ) {}

  setConfig(config: Record<string, unknown>): void {
    this.span.setAttributes(flattenToAttributes(ATTR.configPrefix, config, { secrets: this.secrets }));
  }

  setResources(resources: Record<string, unknown>): void {
    this.span.setAttributes(flattenToAttributes(ATTR.resourcePrefix, resources, { secrets: this.secrets }));
  }

  setExtra(extra: Record<string, unknown>): void {
    this.span.setAttributes(flattenToAttributes(ATTR.extraPrefix, extra, { secrets: this.secrets }));
  }

  addWarning(message: string): void {
    this.span.addEvent(WARNING_EVENT, { [WARNING_ATTR.message]: this.secrets.scrub(truncate(String(message))) });
  }

  addError(message: string, error?: unknown): void {
    const err = error instanceof Error ? error : undefined;
    const text = this.secrets.scrub(truncate(String(message)));
    const type = err ? err.name || err.constructor.name : "Error";
    this.firstErrorType ??= type;
    const attributes: Attributes = {
      [EXCEPTION_ATTR.type]: type,
      [EXCEPTION_ATTR.message]: err ? this.secrets.scrub(truncate(err.message)) : text,
      [EXCEPTION_ATTR.stageMessage]: text,
    };
    if (err?.stack) attributes[EXCEPTION_ATTR.stacktrace] = this.secrets.scrub(err.stack);
    this.span.addEvent(EXCEPTION_EVENT, attributes);
  }
}
