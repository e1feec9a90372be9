// Each OTLP protocol a user can choose (OTEL_EXPORTER_OTLP_PROTOCOL) against
// the real Collector: spans, log records and heartbeats of one stage, read
// back from Jaeger, Prometheus and the Collector's own receiver counters.
//
// The Collector accepts JSON and protobuf on the same HTTP port, so this
// suite cannot tell the two HTTP encodings apart; the in-process receiver
// tests check which one each signal sends.
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../support/tmp.js";
import { eventually, getJson, run, startStack, stopStack, sumSamples, type StackEnv } from "./support/stack.js";

const INDEX = fileURLToPath(new URL("../../dist/src/index.js", import.meta.url));
const STAGE = `
import { writeFileSync } from "node:fs";
import { runStage } from ${JSON.stringify(INDEX)};
process.exitCode = await runStage("proto", async (io) => {
  io.getStageLogger().info("hello from the protocol test");
  const out = io.getOutputPath("out.txt");
  writeFileSync(out, "x");
  io.trackOutput(out, "text");
});
`;

const PROTOCOLS = ["http/json", "http/protobuf", "grpc"] as const;
type Protocol = (typeof PROTOCOLS)[number];
const suffix = randomBytes(3).toString("hex");
const serviceOf = (p: Protocol) => `proto-${p.replace("/", "-")}-${suffix}`;
const transportOf = (p: Protocol) => (p === "grpc" ? "grpc" : "http");

let stackDir: string;
let env: StackEnv;
/** What the Collector's OTLP receiver accepted while each protocol's stage ran. */
const accepted = new Map<Protocol, { spans: number; logs: number; points: number; code: number | null }>();

async function receiverCounts(transport: string) {
  const text = await (await fetch(env.OTELCOL_METRICS_URL)).text();
  const labels = { receiver: "otlp", transport };
  return {
    spans: sumSamples(text, "otelcol_receiver_accepted_spans", labels),
    logs: sumSamples(text, "otelcol_receiver_accepted_log_records", labels),
    points: sumSamples(text, "otelcol_receiver_accepted_metric_points", labels),
  };
}

beforeAll(async () => {
  stackDir = tempDir("stagetrace-stack-");
  ({ env } = await startStack(stackDir, "http://127.0.0.1:9/unused"));
  // One protocol at a time, so the receiver's counters tell them apart.
  for (const p of PROTOCOLS) {
    const before = await receiverCounts(transportOf(p));
    const { done } = run([process.execPath, "--input-type=module", "-e", STAGE], {
      OUTPUT_DIR: tempDir(),
      OTEL_SERVICE_NAME: serviceOf(p),
      OTEL_EXPORTER_OTLP_PROTOCOL: p,
      OTEL_EXPORTER_OTLP_ENDPOINT: p === "grpc" ? env.OTEL_EXPORTER_OTLP_GRPC_ENDPOINT : env.OTEL_EXPORTER_OTLP_ENDPOINT,
      STAGETRACE_HEARTBEAT_INTERVAL_MS: "500",
    });
    const r = await done;
    const after = await receiverCounts(transportOf(p));
    accepted.set(p, {
      spans: after.spans - before.spans,
      logs: after.logs - before.logs,
      points: after.points - before.points,
      code: r.code,
    });
  }
}, 300_000);

afterAll(async () => {
  if (stackDir) await stopStack(stackDir);
});

async function spanInJaeger(p: Protocol, limitMs: number) {
  return eventually(
    `the stage span of ${serviceOf(p)} in Jaeger`,
    async () => {
      const url = `${env.JAEGER_URL}/api/traces?service=${encodeURIComponent(serviceOf(p))}&operation=${encodeURIComponent("stage proto")}&lookback=1h`;
      const { data } = await getJson<{ data: { spans: { operationName: string }[] }[] }>(url);
      return data?.length ? data : undefined;
    },
    limitMs,
  );
}

async function heartbeatInPrometheus(p: Protocol, limitMs: number) {
  return eventually(
    `the heartbeat series of ${serviceOf(p)} in Prometheus`,
    async () => {
      const q = encodeURIComponent(`stagetrace_stage_heartbeat_seconds{job="${serviceOf(p)}"}`);
      const { data } = await getJson<{ data: { result: unknown[] } }>(`${env.PROMETHEUS_URL}/api/v1/query?query=${q}`);
      return data.result.length ? data.result : undefined;
    },
    limitMs,
  );
}

describe("each OTLP protocol into the real Collector", () => {
  for (const p of PROTOCOLS) {
    it(`${p}: the stage's exit code is its own`, () => {
      expect(accepted.get(p)!.code).toBe(0);
    });

    it(`${p}: log records arrive over ${transportOf(p)}`, () => {
      // "stage proto started", the stage's own line, the end line.
      expect(accepted.get(p)!.logs).toBeGreaterThanOrEqual(3);
    });

    it(`${p}: spans arrive over ${transportOf(p)} and reach Jaeger`, async () => {
      expect(accepted.get(p)!.spans).toBeGreaterThanOrEqual(1);
      await spanInJaeger(p, 30_000);
    });

    it(`${p}: heartbeats arrive over ${transportOf(p)} and reach Prometheus`, async () => {
      expect(accepted.get(p)!.points).toBeGreaterThan(0);
      // One scrape interval (15 s) and some.
      await heartbeatInPrometheus(p, 60_000);
    });
  }
});
