// Secrets: credentials of every shape a stage, exec or run can be handed
// (arrays of objects, URL userinfo, signed-URL query parameters, connection
// strings, private keys, Bearer tokens and --password= arguments, log fields,
// the OTLP endpoint's userinfo) appear in clear in no file of the run, no
// line on stderr and no byte the OTLP receiver got.
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { CLI, runCli } from "../support/cli.js";
import { startOtlpReceiver, type OtlpReceiver } from "../support/otlp-receiver.js";
import { assertValidManifest } from "../support/schema.js";
import { allFiles, pipelineLogOf, readJson, readLogLines, tempDir } from "../support/tmp.js";
import { fixture, run } from "./harness.js";

let receiver: OtlpReceiver | undefined;
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
});

// Each value is unique, so finding it anywhere means it leaked.
const SECRETS = {
  S_KEY_BODY: "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0",
  S_URL_PASSWORD: "urlPa55wordQx7",
  S_SIG: "sigZ9r0Q2bXvW3kLmN4pT6yU8iA0sD",
  S_AMZ_SIG: "amz4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d",
  S_CONN_PASSWORD: "connPa55Rt8",
  S_ARRAY_PASSWORD: "arrayPa55Yh6",
  S_ARRAY_KEY: "arrayKeyJ5k4L3",
  S_FIELD_PASSWORD: "fieldPa55Wq2",
  S_ARGV_PASSWORD: "argvPa55Ee3",
  S_ARGV_TOKEN: "argvTokenRr4",
  S_BEARER: "bearerTokTt5Yy6Uu7",
  S_ENDPOINT_PASSWORD: "endpointPa55Oo9",
};

function expectNowhere(texts: { where: string; text: string }[]): void {
  for (const [name, secret] of Object.entries(SECRETS)) {
    for (const { where, text } of texts) expect(text.includes(secret), `${name} in clear in ${where}`).toBe(false);
  }
}

function runFiles(runDir: string): { where: string; text: string }[] {
  return allFiles(runDir).map((f) => ({ where: f, text: readFileSync(f, "utf8") }));
}

function otlpBytes(r: OtlpReceiver): { where: string; text: string }[] {
  return r.requests.flatMap((q) => [
    { where: `OTLP ${q.path} (raw)`, text: q.rawBody.toString("utf8") },
    { where: `OTLP ${q.path} (decoded)`, text: JSON.stringify(q.body) },
  ]);
}

describe("secrets of every shape", () => {
  it("a library stage: config, metadata, log fields and messages, warnings, errors, URIs, its argv and the endpoint, all censored", async () => {
    receiver = await startOtlpReceiver();
    const runDir = tempDir();
    const endpoint = receiver.url.replace("http://", `http://otlp:${SECRETS.S_ENDPOINT_PASSWORD}@`);
    const args = [
      `--password=${SECRETS.S_ARGV_PASSWORD}`,
      "--token",
      SECRETS.S_ARGV_TOKEN,
      "-H",
      `Authorization: Bearer ${SECRETS.S_BEARER}`,
    ];
    const r = await run({ OUTPUT_DIR: runDir, OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, ...SECRETS }, fixture("secret-stage.mjs"), args);
    expect(r.code, r.stderr).toBe(0);
    await receiver.waitFor((x) => x.spans().some((s) => s.name === "stage secrets") && x.logRecords().some((l) => l.body === "nested"));
    expectNowhere([...runFiles(runDir), ...otlpBytes(receiver), { where: "stderr", text: r.stderr }, { where: "stdout", text: r.stdout }]);

    // What was said is still there, with only the secret cut out.
    const m = readJson(join(runDir, "secrets", "manifest.json"));
    assertValidManifest(m);
    expect(m.telemetry.endpoint).toBe(`${receiver.url.replace("http://", "http://otlp:[REDACTED]@")}/v1/traces`);
    expect(m.process.command_args.slice(-5)).toEqual([
      "--password=[REDACTED]",
      "--token",
      "[REDACTED]",
      "-H",
      "Authorization: Bearer [REDACTED]",
    ]);
    expect(JSON.parse(m.config.servers)).toEqual([
      { host: "a.internal", password: "[REDACTED]" },
      { host: "b.internal", apiKey: "[REDACTED]" },
    ]);
    expect(m.config.dsn).toBe("postgres://app:[REDACTED]@db.internal:5432/films");
    expect(m.config.media).toBe("https://acct.blob.core.windows.net/media/a.mp4?sv=2022-11-02&sig=[REDACTED]");
    expect(m.config.signed).toBe("https://bucket.s3.amazonaws.com/x.json?X-Amz-Credential=[REDACTED]&X-Amz-Signature=[REDACTED]");
    expect(m.config.connection).toBe("Server=db.internal;Database=films;User Id=app;Password=[REDACTED];");
    expect(m.config["tls.pem"]).toBe("-----BEGIN RSA PRIVATE KEY-----[REDACTED]-----END RSA PRIVATE KEY-----");
    expect(m.inputs.map((f: { path: string; kind: string }) => [f.kind, f.path])).toEqual([
      ["uri", "postgres://app:[REDACTED]@db.internal:5432/films"],
      ["uri", "https://bucket.s3.amazonaws.com/x.json?X-Amz-Credential=[REDACTED]&X-Amz-Signature=[REDACTED]"],
    ]);
    const lines = readLogLines(join(runDir, "secrets", "stage.log"));
    const loaded = lines.find((l) => l.msg === "accounts loaded");
    expect(loaded).toMatchObject({ accounts: [{ name: "x", apiKey: "[REDACTED]" }], dbPassword: "[REDACTED]", db_password: "[REDACTED]" });
    expect(lines.find((l) => l.msg === "nested").nested.deeper.clientSecret).toBe("[REDACTED]");
    expect(lines.map((l) => l.msg)).toContain(
      "connecting to postgres://app:[REDACTED]@db.internal:5432/films with Server=db.internal;Database=films;User Id=app;Password=[REDACTED];",
    );
  });

  it('exec and run: the command line in pipeline.json, the manifest and the "running ..." line', async () => {
    const dir = tempDir();
    const runDir = join(dir, "run");
    const secretArgs = [
      `--password=${SECRETS.S_ARGV_PASSWORD}`,
      "--api-key",
      SECRETS.S_ARGV_TOKEN,
      "-H",
      `Authorization: Bearer ${SECRETS.S_BEARER}`,
    ];
    const r = await runCli(["run", "--", process.execPath, CLI, "exec", "--stage", "fetch", "--", "echo", ...secretArgs], {
      env: { OUTPUT_DIR: runDir },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(SECRETS.S_BEARER); // the command itself got its arguments unchanged
    expectNowhere([...runFiles(runDir), { where: "stderr", text: r.stderr }]);
    const shown = ["--password=[REDACTED]", "--api-key", "[REDACTED]", "-H", "Authorization: Bearer [REDACTED]"];
    expect(readJson(join(runDir, "pipeline.json")).command.slice(-5)).toEqual(shown);
    const m = readJson(join(runDir, "fetch", "manifest.json"));
    expect(m.process.command_args).toEqual(["echo", ...shown]);
    const running = readLogLines(pipelineLogOf(runDir)).find((l) => typeof l.msg === "string" && l.msg.startsWith("running "));
    expect(running).toMatchObject({ msg: `running echo ${shown.join(" ")}`, command: ["echo", ...shown] });
  });

  it("logs and manifests are created 0640 or stricter (not world-readable)", async () => {
    const dir = tempDir();
    const runDir = join(dir, "run");
    const r = await runCli(["run", "--", process.execPath, CLI, "exec", "--stage", "modes", "--", "true"], { env: { OUTPUT_DIR: runDir } });
    expect(r.code, r.stderr).toBe(0);
    const files = allFiles(runDir);
    expect(files.map((f) => f.slice(runDir.length + 1)).sort()).toEqual(
      expect.arrayContaining([".stagetrace-run.json", "modes/manifest.json", "modes/stage.log", "pipeline.json"]),
    );
    for (const f of files) expect((statSync(f).mode & 0o777).toString(8), f).toMatch(/^[0-6][0-4]0$/);
  });
});
