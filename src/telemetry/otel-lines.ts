/**
 * The two OpenTelemetry JS lines stagetrace runs on, and the one place that
 * says how it bridges them. An app is on the 2.x line (`@opentelemetry/api`
 * 1.9, core and the SDKs 2.x, the exporters and `sdk-node` 0.2xx, Node 20+)
 * or on the 3.x line (api 1.10, core and the SDKs 3.x, the exporters and
 * `sdk-node` 0.30x, Node 22.15+). package.json gives every SDK package a
 * range of both lines (`^2.12.0 || ^3.1.0`, `^0.223.0 || ^0.301.0`) and
 * takes the API as a peer, so npm puts stagetrace on the app's own copies;
 * `scripts/check-install.mjs` checks that with `npm ls` for each install
 * shape. The one shape no range can steer (a 2.x app without `sdk-node` on
 * Node.js 22.15+, given 3.x exporters) is caught when stagetrace is loaded:
 * src/otel-install-check.ts warns with the command that fixes it.
 *
 * What differs between the lines, and what stagetrace uses instead:
 *
 * - `@opentelemetry/sdk-trace-base` and `@opentelemetry/sdk-trace-node` do not
 *   exist on 3.x. `@opentelemetry/sdk-trace` does on both (on 2.x since 2.9;
 *   sdk-trace-base 2.x re-exports it), with the same API: `TracerProvider`,
 *   processors that take `{ exporter, ...options }`, the same types. Unlike
 *   sdk-trace-base's `BasicTracerProvider`, its provider reads no `OTEL_*`
 *   variable and takes no `generalLimits`; stagetrace passes every setting
 *   itself (src/config/). stagetrace imports sdk-trace only.
 * - `NodeTracerProvider.register()` (sdk-trace-node) has no 3.x counterpart:
 *   registerTracing() does what it did, with the AsyncLocalStorage context
 *   manager of `@opentelemetry/context-async-hooks` (on both lines).
 * - `@opentelemetry/api-logs` does not exist on 3.x (its API moved into
 *   `@opentelemetry/api` 1.10). stagetrace calls no logs API; the record it
 *   emits has the type the installed log SDK's `Logger.emit` takes (LogRecord).
 * - The SDK span's private `_attributeValueLengthLimit` (2.x) is gone on 3.x:
 *   package-internals.ts reads the limits object both lines keep.
 */
import { context, propagation, trace, type TextMapPropagator, type TracerProvider as ApiTracerProvider } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import type { LoggerProvider } from "@opentelemetry/sdk-logs";

/**
 * Makes `provider` the global tracer provider, with an enabled
 * AsyncLocalStorage context manager and `propagator` as the global
 * propagator: what `NodeTracerProvider.register({ propagator })` does on
 * the 2.x line.
 */
export function registerTracing(provider: ApiTracerProvider, propagator: TextMapPropagator): void {
  trace.setGlobalTracerProvider(provider);
  const manager = new AsyncLocalStorageContextManager();
  manager.enable();
  context.setGlobalContextManager(manager);
  propagation.setGlobalPropagator(propagator);
}

/** A log record as the installed log SDK's `Logger.emit` takes it (`@opentelemetry/api-logs` on 2.x, `@opentelemetry/api` on 3.x). */
export type LogRecord = Parameters<ReturnType<LoggerProvider["getLogger"]>["emit"]>[0];

/** A log record's attributes. */
export type LogAttributes = NonNullable<LogRecord["attributes"]>;

/** One attribute value of a log record (on 2.x `AnyValue`, maps and arrays included). */
export type LogAttributeValue = LogAttributes[string];
