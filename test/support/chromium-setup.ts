// Vitest global setup: the report tests drive Debian's chromium. On a fresh
// machine it is not there, so it is installed here (apt-get, as root), once,
// saying so on stderr. If it cannot be installed the run stops with the
// reason: the report tests are never skipped for a missing browser.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

const DEBIAN_CHROMIUM = "/usr/bin/chromium";

function run(command: string, args: string[]): void {
  process.stderr.write(`test setup: ${command} ${args.join(" ")}\n`);
  const r = spawnSync(command, args, {
    stdio: ["ignore", "inherit", "inherit"],
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
  if (r.error || r.status !== 0) {
    const why = r.error ? r.error.message : `exit code ${r.status}`;
    throw new Error(
      `${DEBIAN_CHROMIUM} is missing and "${command} ${args.join(" ")}" failed (${why}); the report tests need it. ` +
        "Install Debian's chromium package as root (apt-get install chromium), or set CHROMIUM to a Chromium binary.",
    );
  }
}

export default function setup(): void {
  // A browser of one's own (CHROMIUM=...) is used as it is; the tests fail loudly if it is not there.
  if (process.env.CHROMIUM || existsSync(DEBIAN_CHROMIUM)) return;
  process.stderr.write(`test setup: ${DEBIAN_CHROMIUM} is missing; installing Debian's chromium package for the report tests\n`);
  if (process.getuid?.() !== 0) {
    throw new Error(
      `${DEBIAN_CHROMIUM} is missing and the tests do not run as root, so they cannot install it: run apt-get install chromium as root`,
    );
  }
  run("apt-get", ["update"]);
  run("apt-get", ["install", "-y", "--no-install-recommends", "chromium"]);
  if (!existsSync(DEBIAN_CHROMIUM)) throw new Error(`apt-get installed chromium, but ${DEBIAN_CHROMIUM} is still missing`);
  process.stderr.write(`test setup: installed ${DEBIAN_CHROMIUM}\n`);
}
