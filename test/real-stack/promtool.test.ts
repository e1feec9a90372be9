// The stack's Prometheus config and alert rules, checked and unit-tested by
// the promtool of the Prometheus release the stack runs (built by
// scripts/stack.mjs from stack/build/prometheus).
import { spawnSync } from "node:child_process";
import { symlinkSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { tempDir } from "../support/tmp.js";
import { stackPrograms } from "./support/stack.js";

const CONFIG_DIR = fileURLToPath(new URL("../../collector-config/", import.meta.url));
const PROMTOOL = stackPrograms().promtool!;

/**
 * Runs promtool in a directory laid out as docker-compose.yml mounts
 * /etc/prometheus: the shipped prometheus.yml and alerts.yml, and the compose
 * target files as targets/ (paths in prometheus.yml are relative to it).
 */
function promtool(...args: string[]) {
  const dir = tempDir("stagetrace-promtool-");
  for (const f of ["prometheus.yml", "alerts.yml", "alerts.test.yml", "alerts-history.test.yml"])
    symlinkSync(join(CONFIG_DIR, f), join(dir, f));
  symlinkSync(join(CONFIG_DIR, "prometheus-targets"), join(dir, "targets"));
  const r = spawnSync(PROMTOOL, args, { cwd: dir, encoding: "utf8" });
  if (r.error) throw new Error(`cannot run ${PROMTOOL}: ${r.error.message}`);
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe("Prometheus config and alert rules (promtool)", () => {
  it("prometheus.yml is valid and loads alerts.yml", () => {
    const r = promtool("check", "config", "prometheus.yml");
    expect(r.status, r.output).toBe(0);
    expect(r.output).toContain("1 rule files found");
  });

  it("alerts.yml is valid and holds every alert the docs describe", () => {
    const r = promtool("check", "rules", "alerts.yml");
    expect(r.status, r.output).toBe(0);
    expect(r.output).toContain("6 rules found");
  });

  it("every alert fires and stays quiet where its unit tests say", () => {
    const r = promtool("test", "rules", "alerts.test.yml", "alerts-history.test.yml");
    expect(r.status, r.output).toBe(0);
    expect(r.output.match(/SUCCESS/g) ?? []).toHaveLength(2);
  });

  it("the unit tests cover every alert, firing and not firing", async () => {
    const { parse } = await import("yaml");
    const { readFileSync } = await import("node:fs");
    const read = (f: string) => parse(readFileSync(CONFIG_DIR + f, "utf8"));
    const alerts: string[] = read("alerts.yml").groups.flatMap((g: { rules: { alert?: string }[] }) =>
      g.rules.map((r) => r.alert).filter(Boolean),
    );
    const cases = ["alerts.test.yml", "alerts-history.test.yml"].flatMap((f) =>
      read(f).tests.flatMap((t: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }) => t.alert_rule_test ?? []),
    );
    for (const alert of alerts) {
      const mine = cases.filter((c: { alertname: string }) => c.alertname === alert);
      expect(
        mine.some((c: { exp_alerts: unknown[] }) => c.exp_alerts.length > 0),
        `${alert} fires in a test`,
      ).toBe(true);
      expect(
        mine.some((c: { exp_alerts: unknown[] }) => c.exp_alerts.length === 0),
        `${alert} stays quiet in a test`,
      ).toBe(true);
    }
  });
});
