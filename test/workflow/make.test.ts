// The make recipe of docs/schedulers.md, run as written: `make -j2` begins
// the run, runs the four stages (two of them at once) in a sub-make, and
// ends the run. make is installed (apt-get, as root) when this machine lacks
// it; the test is never skipped for a missing tool.
import { spawn, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { validateAgainstSchema } from "../../src/schema/validate.js";
import { startOtlpReceiver, type OtlpReceiver } from "../support/otlp-receiver.js";
import { readJson, tempDir } from "../support/tmp.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BIN = join(ROOT, "bin");

/** The ```make block of docs/schedulers.md. */
function makefileFromDocs(): string {
  const text = readFileSync(join(ROOT, "docs", "schedulers.md"), "utf8");
  const m = /^```make\n([\s\S]*?)^```$/m.exec(text);
  if (!m) throw new Error("docs/schedulers.md has no ```make block");
  return m[1]!;
}

function ensureMake(): void {
  if (spawnSync("make", ["--version"]).status === 0) return;
  if (process.getuid?.() !== 0) throw new Error("make is missing and the tests do not run as root, so they cannot install it: apt-get install make");
  process.stderr.write("test setup: make is missing; installing Debian's make package\n");
  for (const args of [["update"], ["install", "-y", "--no-install-recommends", "make"]]) {
    const r = spawnSync("apt-get", args, { stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
    if (r.status !== 0) throw new Error(`apt-get ${args.join(" ")} failed; the make recipe test needs make`);
  }
}

let receiver: OtlpReceiver;
beforeAll(async () => {
  ensureMake();
  receiver = await startOtlpReceiver();
}, 300_000);
afterAll(() => receiver?.close());

describe("docs/schedulers.md: the make recipe", () => {
  it("make -j2 gives one trace and one pipeline.json", async () => {
    const dir = tempDir();
    const run = join(dir, "out", "run");
    writeFileSync(join(dir, "Makefile"), makefileFromDocs());
    const env = { PATH: [BIN, process.env.PATH ?? ""].join(delimiter), HOME: process.env.HOME ?? "", OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url };
    const result = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
      const child = spawn("make", ["-j2", "--no-print-directory"], { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
      let output = "";
      child.stdout.on("data", (d: Buffer) => (output += d.toString()));
      child.stderr.on("data", (d: Buffer) => (output += d.toString()));
      child.on("error", reject);
      child.on("close", (code) => resolve({ code, output }));
    });
    expect(result.code, result.output).toBe(0);
    const summary = readJson(join(run, "pipeline.json"));
    expect(validateAgainstSchema("pipeline", summary)).toEqual([]);
    expect(summary).toMatchObject({ pipeline: "wordcount", status: "success", exit_code: 0 });
    expect(summary.stages.map((s: any) => [s.number, s.name, s.status])).toEqual([
      [1, "prepare", "success"],
      [2, "count", "success"],
      [3, "checksum", "success"],
      [4, "merge", "success"],
    ]);
    expect(readFileSync(join(run, "04_merge", "summary.txt"), "utf8")).toMatch(/^5\n\d+ 10\n$/);
    const traceId = summary.trace.trace_id;
    await receiver.waitFor((r) => r.spans().filter((s) => s.spanContext().traceId === traceId).length >= 5, 20_000);
    const spans = receiver.spans().filter((s) => s.spanContext().traceId === traceId);
    expect(spans.find((s) => s.name === "RUN wordcount")!.spanContext().spanId).toBe(summary.trace.span_id);
    for (const s of spans.filter((x) => x.name.startsWith("stage "))) expect(s.parentSpanContext?.spanId).toBe(summary.trace.span_id);
  }, 120_000);
});
