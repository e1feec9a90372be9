import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signalExitCode } from "../../src/process-exit.js";
import { runCli, runCliInProcess, type CliResult } from "../support/cli.js";
import { startOtlpReceiver, type OtlpReceiver } from "../support/otlp-receiver.js";
import { readJson, readLogLines, tempDir } from "../support/tmp.js";

/** A port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

let receiver: OtlpReceiver;
let deadEndpoint: string;
beforeAll(async () => {
  receiver = await startOtlpReceiver();
  deadEndpoint = `http://127.0.0.1:${await closedPort()}`;
});
afterAll(() => receiver.close());

interface Case {
  name: string;
  /** Arguments after `exec --stage <stage>`; `{run}` is replaced by the run directory. */
  args: string[];
  command: string[];
  backend?: "receiver" | "dead" | "none";
  /** exec's exit code, or the signal exec dies by (the command's, passed on). */
  exit: number | NodeJS.Signals;
  status: string;
  /** Extra checks on the manifest and what the CLI printed. */
  check?: (manifest: any, result: CliResult, run: string) => void;
}

const cases: Case[] = [
  {
    name: "a command that succeeds and writes its declared output",
    args: ["--output", "out.txt:text", "--config", "model=large", "--config", "batch=16", "--config", "apiKey=sk-live-123456"],
    command: ["sh", "-c", 'echo hello > "$STAGE_DIR/out.txt"'],
    exit: 0,
    status: "success",
    check: (m) => {
      expect(m.outputs).toHaveLength(1);
      expect(m.outputs[0]).toMatchObject({ name: "out.txt", type: "text", exists: true, size: 6, hash_algorithm: "sha256" });
      expect(m.config).toMatchObject({ model: "large", batch: 16 });
      expect(JSON.stringify(m)).not.toContain("sk-live-123456");
      expect(m.process.exit_code).toBe(0);
      expect(m.process.command_args[0]).toBe("sh");
      expect(m.resources.wall_time_ms).toBeGreaterThanOrEqual(0);
    },
  },
  {
    name: "a command that exits 3",
    args: [],
    command: ["sh", "-c", "echo about to fail >&2; exit 3"],
    exit: 3,
    status: "failed",
    check: (m) => {
      expect(m.process.exit_code).toBe(3);
      expect(m.status_reason).toBe("command exited with code 3");
    },
  },
  {
    // Nobody here sent it: the OOM killer, most often. A crash, not a stop.
    name: "a command killed by SIGKILL",
    args: [],
    command: ["sh", "-c", "kill -KILL $$"],
    exit: "SIGKILL",
    status: "failed",
    check: (m) => {
      expect(m.status_reason).toContain("SIGKILL");
      expect(m.process.exit_code).toBe(137);
    },
  },
  {
    name: "a failing command while the collector is down",
    args: [],
    command: ["sh", "-c", "exit 3"],
    backend: "dead",
    exit: 3,
    status: "failed",
    check: (m, r) => {
      expect(m.telemetry.dropped).toBeGreaterThan(0);
      expect(r.stderr).toMatch(/not delivered/);
    },
  },
  {
    name: "a succeeding command while the collector is down",
    args: [],
    command: ["true"],
    backend: "dead",
    exit: 0,
    status: "success",
  },
  {
    name: "a declared output the command did not write",
    args: ["--output", "missing.json:json"],
    command: ["true"],
    exit: 1,
    status: "failed",
    check: (m, r) => {
      expect(m.status_reason).toMatch(/declared output not written: .*missing\.json/);
      expect(m.errors[0].message).toContain("missing.json");
      expect(m.outputs[0]).toMatchObject({ name: "missing.json", exists: false });
      expect(r.stderr).toContain("missing.json");
    },
  },
  {
    name: "a command that does not exist",
    args: [],
    command: ["stagetrace-no-such-command"],
    exit: 127,
    status: "failed",
    check: (m, r) => {
      expect(m.status_reason).toContain("ENOENT");
      expect(r.stderr).toContain("stagetrace-no-such-command");
    },
  },
  {
    name: "an input that the previous stage wrote, and an intermediate",
    args: ["--input", "{run}/given.txt:text", "--intermediate", "cache.bin"],
    command: ["sh", "-c", 'cat "$OUTPUT_DIR/given.txt" > "$STAGE_DIR/cache.bin"'],
    exit: 0,
    status: "success",
    check: (m, _r, run) => {
      expect(m.inputs[0]).toMatchObject({ path: join(run, "given.txt"), type: "text", exists: true, size: 5 });
      expect(m.intermediate_files[0]).toMatchObject({ name: "cache.bin", retained: true, exists: true });
    },
  },
];

describe("stagetrace exec", () => {
  it.each(cases)("$name", async (c) => {
    const run = tempDir();
    writeFileSync(join(run, "given.txt"), "given");
    const endpoint = c.backend === "dead" ? deadEndpoint : c.backend === "none" ? undefined : receiver.url;
    const stage = `s${cases.indexOf(c)}`;
    const args = ["exec", "--stage", stage, ...c.args.map((a) => a.replace("{run}", run)), "--", ...c.command];
    const result = await runCli(args, { env: { OUTPUT_DIR: run, OTEL_EXPORTER_OTLP_ENDPOINT: endpoint } });
    if (typeof c.exit === "string")
      expect({ code: result.code, signal: result.signal }, result.stderr).toEqual({ code: null, signal: c.exit });
    else expect(result.code, result.stderr).toBe(c.exit);
    const manifest = readJson(join(run, stage, "manifest.json"));
    expect(manifest.status).toBe(c.status);
    c.check?.(manifest, result, run);
    if (endpoint === receiver.url) {
      await receiver.waitFor((r) => r.spans().some((s) => s.spanContext().spanId === manifest.trace.span_id));
      const span = receiver.spans().find((s) => s.spanContext().spanId === manifest.trace.span_id)!;
      expect(span.name).toBe(`stage ${stage}`);
      expect(span.attributes["stagetrace.stage.status"]).toBe(c.status);
      expect(span.attributes["process.exit.code"]).toBe(
        c.exit === 1 && c.status === "failed" && c.command[0] === "true" ? 0 : typeof c.exit === "string" ? signalExitCode(c.exit) : c.exit,
      );
    }
  });

  it("writes the command's stdout and stderr to stage.log with the trace id, INFO+ to the pipeline log", async () => {
    const run = tempDir();
    const script = [
      "echo 'plain stdout line'",
      "echo 'DEBUG detail nobody needs' ",
      "echo 'WARNING: disk almost full' >&2",
      "printf 'progress 10%%\\rprogress 100%%\\n'",
      "printf 'no newline at the end'",
    ].join("; ");
    const result = await runCli(["exec", "--stage", "talk", "--", "sh", "-c", script], { env: { OUTPUT_DIR: run } });
    expect(result.code, result.stderr).toBe(0);
    // Still on the terminal, untouched.
    expect(result.stdout).toContain("plain stdout line\n");
    expect(result.stderr).toContain("WARNING: disk almost full\n");
    const manifest = readJson(join(run, "talk", "manifest.json"));
    const lines = readLogLines(join(run, "talk", "stage.log")).filter((l) => l.stream);
    // stdout and stderr are separate pipes: order is kept within each, not across them.
    const of = (stream: string) => lines.filter((l) => l.stream === stream).map((l) => [l.level, l.msg]);
    expect(of("stdout")).toEqual([
      ["INFO", "plain stdout line"],
      ["DEBUG", "DEBUG detail nobody needs"],
      ["INFO", "progress 100%"],
      ["INFO", "no newline at the end"],
    ]);
    expect(of("stderr")).toEqual([["WARN", "WARNING: disk almost full"]]);
    for (const l of lines) expect(l.trace_id).toBe(manifest.trace.trace_id);
    const pipelineLog = readLogLines(manifest.logs.pipeline_log).filter((l) => l.stream);
    expect(pipelineLog.map((l) => l.msg)).not.toContain("DEBUG detail nobody needs");
    expect(pipelineLog.map((l) => l.msg)).toContain("WARNING: disk almost full");
  });

  it("passes its own TRACEPARENT to the command, so instrumented children nest under the stage span", async () => {
    const run = tempDir();
    const result = await runCli(["exec", "--stage", "parent", "--", "sh", "-c", 'echo "$TRACEPARENT" > "$STAGE_DIR/tp"'], {
      env: { OUTPUT_DIR: run, TRACEPARENT: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" },
    });
    expect(result.code, result.stderr).toBe(0);
    const manifest = readJson(join(run, "parent", "manifest.json"));
    expect(manifest.trace.trace_id).toBe("0af7651916cd43dd8448eb211c80319c");
    expect(manifest.trace.parent_span_id).toBe("b7ad6b7169203331");
    const tp = readFileSync(join(run, "parent", "tp"), "utf8").trim();
    expect(tp).toBe(`00-${manifest.trace.trace_id}-${manifest.trace.span_id}-01`);
  });

  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    it(`forwards ${signal} to the command, which decides how to end; the stage is interrupted`, async () => {
      const run = tempDir();
      const marker = join(run, "got-signal");
      const sig = signal.slice(3);
      const code = signal === "SIGTERM" ? 143 : 130;
      // The trap runs between sleeps; the command exits the way a well-behaved tool does.
      const script = `trap 'echo ${sig} > "${marker}"; exit ${code}' ${sig}; echo READY; while :; do sleep 0.05; done`;
      let sent = false;
      const result = await runCli(["exec", "--stage", "long", "--", "sh", "-c", script], {
        env: { OUTPUT_DIR: run },
        onStdout: (text, child) => {
          if (!sent && text.includes("READY")) {
            sent = true;
            child.kill(signal);
          }
        },
      });
      expect(result.code, result.stderr).toBe(code);
      expect(readFileSync(marker, "utf8").trim()).toBe(sig);
      const manifest = readJson(join(run, "long", "manifest.json"));
      expect(manifest.status).toBe("interrupted");
      expect(manifest.status_reason).toContain(signal);
      expect(manifest.process.exit_code).toBe(code);
    });
  }

  const usageCases: [string, string[], RegExp][] = [
    ["an unknown option", ["exec", "--stage", "x", "--bogus", "--", "true"], /unknown option --bogus/],
    ["no -- before the command", ["exec", "--stage", "x", "true"], /missing -- before the command/],
    ["no --stage", ["exec", "--", "true"], /--stage NAME is required/],
    ["nothing after --", ["exec", "--stage", "x", "--"], /no command after --/],
    ["a bad --config", ["exec", "--stage", "x", "--config", "novalue", "--", "true"], /--config expects KEY=VALUE/],
    ["a bad --number", ["exec", "--stage", "x", "--number", "two", "--", "true"], /--number must be a whole number/],
  ];
  it.each(usageCases)("rejects %s with a one-line usage error and exit 2", async (_name, args, message) => {
    const run = tempDir();
    const result = await runCliInProcess(args, { env: { OUTPUT_DIR: run } });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toMatch(/^Usage: stagetrace exec --stage NAME/m);
    expect(result.stderr.trim().split("\n")).toHaveLength(2);
    expect(existsSync(join(run, "x"))).toBe(false);
  });

  it("rejects a usage error as a process too: exit 2, nothing run, nothing written", async () => {
    const run = tempDir();
    const result = await runCli(["exec", "--stage", "x", "--number", "1", "--number", "2", "--", "touch", join(run, "ran")], {
      env: { OUTPUT_DIR: run },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^stagetrace exec: --number given twice\nUsage: stagetrace exec --stage NAME/);
    expect(readdirSync(run)).toEqual([]);
  });
});
