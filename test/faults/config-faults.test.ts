// Bad configuration: every stagetrace environment value that makes no sense
// warns once and falls back, and never stops the command or changes its exit
// code; config values far too large are cut, with what was cut said.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runCli } from "../support/cli.js";
import { startOtlpReceiver, type OtlpReceiver } from "../support/otlp-receiver.js";
import { assertValidManifest } from "../support/schema.js";
import { readJson, tempDir } from "../support/tmp.js";
import { fixture, run } from "./harness.js";

let receiver: OtlpReceiver | undefined;
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
});

const BAD: Record<string, string> = {
  STAGETRACE_HASH: "nope",
  STAGETRACE_LOG_LEVEL: "loud",
  STAGETRACE_CONSOLE: "loud",
  STAGETRACE_REUSE_HASHES: "maybe",
  STAGETRACE_STAGES: "a/b,c",
  STAGETRACE_STRICT: "maybe",
  STAGETRACE_EXIT_TIMEOUT_MS: "abc",
  STAGETRACE_OTLP_MAX_EVENTS: "-1",
  STAGETRACE_HEARTBEAT_INTERVAL_MS: "x",
  STAGETRACE_STALL_AFTER_S: "x",
  STAGETRACE_EXPECTED_DURATION_S: "soon",
  STAGETRACE_KILL_GRACE_MS: "x",
  STAGETRACE_PIPELINE_LOG: "/etc/stagetrace-pipeline.log",
};

describe("a bad stagetrace environment value", () => {
  it.each(Object.entries(BAD))("%s=%s warns once, falls back, and the command runs with its own exit code", async (name, value) => {
    receiver = await startOtlpReceiver();
    const dir = tempDir();
    const runDir = join(dir, "run");
    const input = join(dir, "in.txt");
    const r = await runCli(["exec", "--stage", "s", "--input", input, "--", "sh", "-c", "echo ran; exit 3"], {
      env: { OUTPUT_DIR: runDir, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, [name]: value },
    });
    expect(r.code, r.stderr).toBe(3);
    expect(r.stdout).toBe("ran\n");
    const said = r.stderr.split("\n").filter((l) => l.includes(name));
    expect(said, r.stderr).toHaveLength(1);
    expect(said[0]).toContain(value.split(",")[0]!); // the value at fault
    const m = readJson(join(runDir, "s", "manifest.json"));
    assertValidManifest(m);
    expect(m).toMatchObject({ status: "failed", process: { exit_code: 3 } });
    // Telemetry went on with the fallback: the stage's span reached the backend.
    expect(receiver.spans().some((s) => s.name === "stage s")).toBe(true);
  });
});

describe("config values far too large", () => {
  it("are cut: arrays, objects with many keys, and values per call, each saying what was cut", async () => {
    const runDir = tempDir();
    const r = await run({ OUTPUT_DIR: runDir }, fixture("config-stage.mjs"));
    expect(r.code, r.stderr).toBe(0);
    const m = readJson(join(runDir, "bounded", "manifest.json"));
    assertValidManifest(m);
    expect(m.config.list).toMatch(/^\["item-0","item-1",.*…\[cut 4000 of 5000 items\]$/);
    expect(m.config.list.length).toBeLessThan(5000);
    expect(m.config.numbers).toMatch(/…\[cut 2000 of 3000 items\]$/);
    expect(m.config["many.k999"]).toBe(999);
    expect(m.config["many.k1000"]).toBeUndefined();
    expect(m.config["many.…"]).toBe("[cut 4000 of 5000 keys]");
    // 30 groups of 600 values: the first 10,000 values are kept, the rest counted.
    expect(Object.keys(m.config).filter((k) => k.startsWith("wide.")).length).toBeLessThanOrEqual(10_000 + 30);
    expect(m.config["…"]).toMatch(/^\[cut \d+ values past the first 10000\]$/);
    expect(readFileSync(join(runDir, "bounded", "manifest.json")).length).toBeLessThan(2_000_000);
  });
});
