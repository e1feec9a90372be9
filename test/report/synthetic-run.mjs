// Writes a synthetic run directory for the report's scale checks: `stages`
// stage directories, each with a manifest.json and a stage.log, and `files`
// tracked output files in all (the files themselves are not written; the
// manifests describe them). Stage k reads every output of stage k-1, so the
// lineage has as many edges as files. Manifests follow the schema.
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const hex = (s) => createHash("sha256").update(s).digest("hex");

export function writeSyntheticRun(runDir, { stages = 500, files = 50_000, failAt = -1 } = {}) {
  const perStage = Math.max(1, Math.floor(files / stages));
  const traceId = hex("trace").slice(0, 32);
  let clock = Date.parse("2025-01-01T00:00:00.000Z");
  let previous = [];
  let previousName = null;
  for (let k = 0; k < stages; k++) {
    const number = k + 1;
    const name = `step${String(number).padStart(3, "0")}`;
    const dir = join(runDir, `${String(number).padStart(2, "0")}_${name}`);
    mkdirSync(dir, { recursive: true });
    const outputs = [];
    for (let i = 0; i < perStage; i++) {
      const path = join(dir, "shards", `part-${String(i).padStart(5, "0")}.json`);
      outputs.push({
        path,
        name: path.split("/").pop(),
        type: "json",
        kind: "file",
        exists: true,
        size: 1000 + ((path.length * 37 + i * 101) % 9000),
        modified: new Date(clock).toISOString(),
        hash: hex(path),
        hash_algorithm: "sha256",
        from_stage: null,
        metadata: {},
      });
    }
    const duration = 200 + ((k * 7919) % 1800);
    const status = k === failAt ? "failed" : "success";
    const at = (ms) => new Date(ms).toISOString();
    const manifest = {
      schema_version: "1.0",
      stage: name,
      stage_number: number,
      status,
      status_reason: status === "failed" ? "synthetic failure" : null,
      pipeline: { name: "synthetic", run_id: "synthetic-run", run_dir: runDir },
      trace: { trace_id: traceId, span_id: hex(name).slice(0, 16), parent_span_id: null },
      started_at: at(clock),
      ended_at: at(clock + duration),
      duration_ms: duration,
      inputs: previous.map((e) => ({ ...e, from_stage: previousName })),
      outputs,
      intermediate_files: [],
      config: { shard_count: perStage, model: `m-${k % 5}`, "limits.max_rows": 100000 },
      warnings: k % 50 === 0 ? [{ message: `stage ${name} is slow`, timestamp: at(clock) }] : [],
      errors:
        status === "failed"
          ? [
              {
                message: "synthetic failure",
                type: "Error",
                stack: "Error: synthetic failure\n    at synthetic",
                timestamp: at(clock + duration),
              },
            ]
          : [],
      resources: { cpu_user_ms: duration, peak_rss_mb: 100 + k },
      process: { pid: 1000 + k, hostname: "synthetic-host", command_args: ["node", `${name}.mjs`], exit_code: status === "failed" ? 1 : 0 },
      logs: { stage_log: join(dir, "stage.log"), pipeline_log: null },
      telemetry: {
        endpoint: null,
        state: "local",
        exported: 0,
        dropped: 0,
        events_omitted: 0,
        log_records_exported: 0,
        log_records_dropped: 0,
      },
    };
    writeFileSync(join(dir, "manifest.json"), JSON.stringify(manifest));
    const lines = [];
    for (let i = 0; i < 40; i++) lines.push(JSON.stringify({ level: "INFO", time: clock + i, stage: name, msg: `line ${i} of ${name}` }));
    writeFileSync(join(dir, "stage.log"), `${lines.join("\n")}\n`);
    previous = outputs;
    previousName = name;
    clock += duration + 5;
  }
  return runDir;
}
