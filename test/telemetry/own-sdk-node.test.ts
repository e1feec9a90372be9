// Bring your own SDK: an app on @opentelemetry/sdk-node (the 2.x line,
// 0.223) with stagetrace's manifest processors on its provider, run as a real
// process against the in-process OTLP receiver, set up as
// docs/configuration.md shows. One trace, each span exported once, the
// app's service.name on spans, logs and heartbeats (set in the environment
// or only in code), the manifest's log counts true, and the local record
// complete whatever the app's span limits: the span exported carries what
// they allow, and the manifest counts what they dropped.
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect } from "vitest";
import { ownSdkCases } from "../support/own-sdk-cases.js";
import { startOtlpReceiver, type OtlpReceiver } from "../support/otlp-receiver.js";
import { spawnStage } from "../support/spawn-stage.js";
import { readJson, tempDir } from "../support/tmp.js";

const APP = fileURLToPath(new URL("../fixtures/own-sdk-app.mjs", import.meta.url));

let receiver: OtlpReceiver | undefined;
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
});

async function app(env: Record<string, string> = {}) {
  receiver = await startOtlpReceiver();
  const run = tempDir();
  const r = await spawnStage(
    {
      OUTPUT_DIR: run,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      STAGETRACE_HEARTBEAT_INTERVAL_MS: "200",
      ...env,
    },
    APP,
  );
  expect(r.code, r.stderr).toBe(0);
  return { ...r, run, manifest: readJson(join(run, "own", "manifest.json")) };
}

describe("an app with its own @opentelemetry/sdk-node 0.223", () => {
  ownSdkCases(app, () => receiver!, /^2\./, new RegExp(`^${process.versions.node.replaceAll(".", "\\.")}$`));
});
