// OTLP span export to a receiver in this process: `node span-export.mjs <mode> <spans> <events>`.
// Both modes create the same spans (stage attributes, <events> file events each,
// ended in chunks of 1,000 with a flush after each chunk so no queue overflows)
// and wait until the receiver has them all.
// stagetrace: stagetrace's own provider (manifest writing disabled on the spans,
// so only the export path is measured). raw: NodeTracerProvider + BatchSpanProcessor
// + OTLPTraceExporter, defaults.
import { startReceiver } from "../otlp-receiver.mjs";

const [mode, spansArg, eventsArg] = process.argv.slice(2);
const SPANS = Number(spansArg);
const EVENTS = Number(eventsArg);
const CHUNK = 1000;
const receiver = await startReceiver("ok");

let tracer;
let flush;
let shutdown;
if (mode === "stagetrace") {
  const { initTelemetry, shutdownTelemetry } = await import("stagetrace");
  // OTLP/JSON, as the baseline's exporter-trace-otlp-http sends (stagetrace's default is http/protobuf).
  const t = initTelemetry({ otlpTracesEndpoint: `${receiver.url}/v1/traces`, otlpProtocol: "http/json", registerGlobal: false });
  tracer = t.tracer;
  flush = () => t.provider.forceFlush();
  shutdown = () => shutdownTelemetry();
} else {
  const { NodeTracerProvider } = await import("@opentelemetry/sdk-trace-node");
  const { BatchSpanProcessor } = await import("@opentelemetry/sdk-trace-base");
  const { OTLPTraceExporter } = await import("@opentelemetry/exporter-trace-otlp-http");
  const provider = new NodeTracerProvider({
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${receiver.url}/v1/traces` }))],
  });
  tracer = provider.getTracer("bench");
  flush = () => provider.forceFlush();
  shutdown = () => provider.shutdown();
}

const t0 = performance.now();
for (let i = 0; i < SPANS; i++) {
  const span = tracer.startSpan(`stage s${i}`, {
    attributes: {
      "cicd.pipeline.task.name": `s${i}`,
      "stagetrace.stage.dir": `/runs/r1/${i}_s${i}`,
      "stagetrace.manifest.disabled": true,
      "stagetrace.stage.status": "success",
    },
  });
  for (let e = 0; e < EVENTS; e++) {
    span.addEvent("stagetrace.file", {
      "stagetrace.file.role": e % 2 ? "output" : "input",
      "file.path": `/runs/r1/${i}_s${i}/file-${e}.json`,
      "file.name": `file-${e}.json`,
      "file.size": 1024 + e,
      "stagetrace.file.sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    });
  }
  span.end();
  if ((i + 1) % CHUNK === 0) await flush();
}
await flush();
await receiver.waitForSpans(SPANS);
const ms = performance.now() - t0;
await shutdown();
await receiver.close();
process.stdout.write(JSON.stringify({ ms, spansPerSec: SPANS / (ms / 1000), received: receiver.spans }) + "\n");
