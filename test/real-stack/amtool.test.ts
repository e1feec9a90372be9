// The stack's Alertmanager config, checked by the amtool of the Alertmanager
// release the stack runs (built by scripts/stack.mjs from stack/build/alertmanager).
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { tempDir } from "../support/tmp.js";
import { stackPrograms } from "./support/stack.js";

const CONFIG = fileURLToPath(new URL("../../collector-config/alertmanager.yml", import.meta.url));

const AMTOOL = stackPrograms().amtool!;

function amtool(...args: string[]) {
  const r = spawnSync(AMTOOL, args, { encoding: "utf8" });
  if (r.error) throw new Error(`cannot run ${AMTOOL}: ${r.error.message}`);
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe("Alertmanager config (amtool)", () => {
  it("alertmanager.yml is valid, with its route, receiver and inhibit rule", () => {
    const r = amtool("check-config", CONFIG);
    expect(r.status, r.output).toBe(0);
    expect(r.output).toContain("SUCCESS");
    expect(r.output).toContain("1 inhibit rules");
    expect(r.output).toContain("1 receivers");
  });

  it("routes a critical stagetrace alert and any other alert to a receiver that exists", () => {
    for (const labels of [
      ["alertname=StagetraceStageFailed", "severity=critical", "cicd_pipeline_name=demo"],
      ["alertname=StagetraceStageSlow", "severity=warning"],
    ]) {
      const r = amtool("config", "routes", "test", `--config.file=${CONFIG}`, "--verify.receivers=default", ...labels);
      expect(r.status, r.output).toBe(0);
    }
  });

  it("would refuse the config if a route named a receiver that does not exist", () => {
    const broken = join(tempDir(), "alertmanager.yml");
    writeFileSync(broken, readFileSync(CONFIG, "utf8").replace("receiver: default\n  group_by", "receiver: nobody\n  group_by"));
    const r = amtool("check-config", broken);
    expect(r.status).not.toBe(0);
    expect(r.output).toContain('undefined receiver "nobody"');
  });
});
