import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runStage } from "../../src/index.js";
import { readLogLines, tempDir } from "../support/tmp.js";

describe("credentials in log lines", () => {
  it("are censored at the top level, one level down, in interpolated objects and child bindings, without touching the caller's objects", async () => {
    const run = tempDir();
    const secret = "s3cr3t-value-123";
    const fields = { password: secret, user: "ann", headers: { authorization: `Token ${secret}`, accept: "json" }, list: [secret.length] };
    const err = Object.assign(new Error("boom"), { token: secret });
    await runStage(
      "redact",
      (io) => {
        const log = io.getStageLogger();
        log.info(fields, "fields");
        log.info("interpolated %j", { apiKey: secret, n: 1 });
        log.child({ apiKey: secret }).info("child");
        log.error({ err }, "failed");
        log.info({ nested: { deeper: { password: "hidden three levels down" } } }, "deep");
      },
      { outputBase: run },
    );

    const text = readFileSync(join(run, "redact", "stage.log"), "utf8");
    expect(text).not.toContain(secret);
    const lines = readLogLines(join(run, "redact", "stage.log"));
    const byMsg = (m: string) => lines.find((l) => String(l.msg).startsWith(m));
    expect(byMsg("fields")).toMatchObject({
      password: "[REDACTED]",
      user: "ann",
      headers: { authorization: "[REDACTED]", accept: "json" },
    });
    expect(byMsg("interpolated")!.msg).toBe('interpolated {"apiKey":"[REDACTED]","n":1}');
    expect(byMsg("child")).toMatchObject({ apiKey: "[REDACTED]" });
    expect(byMsg("failed")!.err).toMatchObject({ message: "boom", token: "[REDACTED]", type: "Error" });
    expect(byMsg("failed")!.err.stack).toContain("boom");
    // One rule for config and logs: a credential key is censored at any depth.
    expect(byMsg("deep")!.nested.deeper.password).toBe("[REDACTED]");
    // The caller's objects are untouched.
    expect(fields.password).toBe(secret);
    expect(fields.headers.authorization).toBe(`Token ${secret}`);
    expect(err.token).toBe(secret);
  });
});
