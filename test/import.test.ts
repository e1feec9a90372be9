import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";
import { tempDir } from "./support/tmp.js";

const ENTRY = new URL("../dist/src/index.js", import.meta.url).href;

it("does nothing at import: no files, no output, no handlers, no global OpenTelemetry state", () => {
  const cwd = tempDir();
  const script = `
    const before = process.listenerCount("exit") + process.listenerCount("beforeExit");
    const api = await import("@opentelemetry/api");
    await import(${JSON.stringify(ENTRY)});
    const after = process.listenerCount("exit") + process.listenerCount("beforeExit");
    const provider = api.trace.getTracerProvider().constructor.name;
    process.stdout.write(JSON.stringify({ added: after - before, provider }));
  `;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
    cwd: fileURLToPath(new URL("..", import.meta.url)), // where @opentelemetry/api resolves
    env: { PATH: process.env.PATH ?? "", OUTPUT_DIR: cwd, OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:9" },
    encoding: "utf8",
  });
  expect(r.stderr).toBe("");
  expect(JSON.parse(r.stdout)).toEqual({ added: 0, provider: "ProxyTracerProvider" });
  expect(readdirSync(cwd)).toEqual([]);
});
