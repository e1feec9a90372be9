#!/usr/bin/env node
// The observability stack without Docker: the OpenTelemetry Collector, Jaeger,
// Prometheus and Alertmanager built from their Go modules (stack/build/*/go.mod
// pins the releases) and run on 127.0.0.1 with the very config files
// docker-compose.yml mounts. Only listen addresses differ, through flags and
// environment variables.
//
//   node scripts/stack.mjs build            build what is missing into .stack/bin
//   node scripts/stack.mjs up [--dir DIR]   start all four, print KEY=VALUE lines
//   node scripts/stack.mjs down [--dir DIR] stop exactly what `up` started
//
// `eval "$(npm run -s stack:up)"` sets OTEL_EXPORTER_OTLP_ENDPOINT and friends.
// Everything but those lines goes to stderr. See docs/observability.md.
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  closeSync,
  cpSync,
  readdirSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const CONFIG = join(ROOT, "collector-config");
/** Built programs; git-ignored. STAGETRACE_STACK_BIN moves it (e.g. a shared cache). */
const BIN = resolve(process.env.STAGETRACE_STACK_BIN || join(ROOT, ".stack", "bin"));
const DEFAULT_DIR = join(ROOT, ".stack", "run");
const READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 10_000;

/** Each Go module in stack/build and the programs it builds. */
const MODULES = [
  { dir: "otelcol", programs: [{ name: "otelcol", pkg: "." }] },
  { dir: "jaeger", programs: [{ name: "jaeger", pkg: "github.com/jaegertracing/jaeger/cmd/jaeger" }] },
  {
    dir: "prometheus",
    programs: [
      { name: "prometheus", pkg: "github.com/prometheus/prometheus/cmd/prometheus" },
      { name: "promtool", pkg: "github.com/prometheus/prometheus/cmd/promtool" },
    ],
  },
  {
    dir: "alertmanager",
    // Its UI is built with npm and Elm and is not part of the Go module, but
    // the program embeds it: build in a copy of the module (pinned and
    // checksum-verified by go.mod/go.sum) with a placeholder page instead.
    module: "github.com/prometheus/alertmanager",
    placeholders: ["ui/app/dist/elm/index.html", "ui/app/dist/mantine/index.html"],
    programs: [
      { name: "alertmanager", pkg: "github.com/prometheus/alertmanager/cmd/alertmanager" },
      { name: "amtool", pkg: "github.com/prometheus/alertmanager/cmd/amtool" },
    ],
  },
];

const say = (line) => process.stderr.write(`stack: ${line}\n`);

class StackError extends Error {}

/** What a module's build depends on: its go.mod, go.sum and Go sources. */
export function moduleStamp(dir) {
  const h = createHash("sha256");
  const moduleDir = join(ROOT, "stack", "build", dir);
  const files = ["go.mod", "go.sum", ...listGoFiles(moduleDir)];
  for (const f of files) h.update(f).update(readFileSync(join(moduleDir, f)));
  h.update(goVersion());
  return h.digest("hex");
}

function listGoFiles(dir) {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".go"))
    .sort();
}

let cachedGoVersion;
function goVersion() {
  if (cachedGoVersion) return cachedGoVersion;
  const r = spawnSync("go", ["env", "GOVERSION"], { encoding: "utf8" });
  if (r.error || r.status !== 0) {
    throw new StackError(
      "cannot run `go` (Go 1.21 or newer is needed to build the stack; it fetches the toolchain stack/build/*/go.mod name): install Go from go.dev or your distribution (Debian's golang-go is too old), or put it on PATH",
    );
  }
  cachedGoVersion = r.stdout.trim();
  return cachedGoVersion;
}

/** Builds every program whose module changed since it was built; returns the paths. */
export function build() {
  mkdirSync(BIN, { recursive: true });
  const paths = {};
  for (const m of MODULES) {
    const stamp = moduleStamp(m.dir);
    const stampFile = join(BIN, `${m.dir}.stamp`);
    const built = m.programs.every((p) => existsSync(join(BIN, p.name)));
    if (!built || !existsSync(stampFile) || readFileSync(stampFile, "utf8") !== stamp) {
      say(`building ${m.programs.map((p) => p.name).join(", ")} from stack/build/${m.dir} (the first build takes minutes)`);
      const started = Date.now();
      const cwd = m.module ? copyOfModule(m) : join(ROOT, "stack", "build", m.dir);
      for (const p of m.programs) {
        const pkg = m.module ? `.${p.pkg.slice(m.module.length)}` : p.pkg;
        const r = spawnSync("go", ["build", "-trimpath", "-o", join(BIN, p.name), pkg], {
          cwd,
          stdio: ["ignore", "inherit", "inherit"],
          env: { ...process.env, GOFLAGS: "-mod=readonly" },
        });
        if (r.error || r.status !== 0) {
          throw new StackError(`go build of ${p.pkg} in stack/build/${m.dir} failed (${r.error?.message ?? `exit ${r.status}`})`);
        }
      }
      writeFileSync(stampFile, stamp);
      say(`built ${m.dir} in ${Math.round((Date.now() - started) / 1000)} s`);
    }
    for (const p of m.programs) paths[p.name] = join(BIN, p.name);
  }
  return paths;
}

/**
 * A writable copy of `m.module` at the version stack/build/<dir>/go.mod pins
 * (downloaded and checksum-verified by `go mod download`), with `m.placeholders`
 * added; in .stack/src, git-ignored.
 */
function copyOfModule(m) {
  const r = spawnSync("go", ["mod", "download", "-json", m.module], { cwd: join(ROOT, "stack", "build", m.dir), encoding: "utf8" });
  if (r.error || r.status !== 0) throw new StackError(`go mod download ${m.module} failed: ${r.stdout}${r.stderr}`);
  const { Dir, Version } = JSON.parse(r.stdout);
  const copy = join(dirname(BIN), "src", `${m.dir}@${Version}`);
  rmSync(copy, { recursive: true, force: true });
  cpSync(Dir, copy, { recursive: true });
  chmodRecursive(copy);
  for (const f of m.placeholders) {
    mkdirSync(dirname(join(copy, f)), { recursive: true });
    writeFileSync(
      join(copy, f),
      "<!doctype html><title>UI not built</title><p>This build has no web UI; the API answers under /api/v2/.\n",
    );
  }
  return copy;
}

/** The module cache is read-only; the copy must take the placeholder files. */
function chmodRecursive(dir) {
  chmodSync(dir, 0o755);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) chmodRecursive(join(dir, entry.name));
  }
}

/** A port the kernel says is free on 127.0.0.1 right now. */
function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

async function ports(names) {
  const out = {};
  const seen = new Set();
  for (const n of names) {
    let p;
    do p = await freePort();
    while (seen.has(p));
    seen.add(p);
    out[n] = p;
  }
  return out;
}

/** Starts `command` detached, its output in `<dir>/<name>.log`; returns its pid. */
function startProgram(name, command, args, { cwd, env, dir }) {
  const logPath = join(dir, `${name}.log`);
  const fd = openSync(logPath, "a");
  const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, detached: true, stdio: ["ignore", fd, fd] });
  closeSync(fd);
  child.unref();
  return { pid: child.pid, log: logPath, exited: new Promise((r) => child.on("exit", (code, signal) => r({ code, signal }))) };
}

async function waitReady(name, url, started, expect = (res) => res.ok) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let exit;
  started.exited.then((e) => (exit = e));
  let last = "no answer";
  while (Date.now() < deadline) {
    if (exit) {
      throw new StackError(`${name} exited (${exit.code ?? exit.signal}) before it answered; see ${started.log}:\n${tail(started.log)}`);
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (expect(res)) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = err.cause?.code ?? err.message;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new StackError(
    `${name} did not answer ${url} within ${READY_TIMEOUT_MS / 1000} s (${last}); see ${started.log}:\n${tail(started.log)}`,
  );
}

function tail(path) {
  try {
    return readFileSync(path, "utf8").split("\n").slice(-15).join("\n");
  } catch {
    return "";
  }
}

function stateFile(dir) {
  return join(dir, "stack.json");
}

/**
 * Starts the four programs in `dir` (data, logs, Prometheus target files) and
 * returns the environment a user or a test needs. `webhookUrl` is where
 * Alertmanager sends alerts (else ALERT_WEBHOOK_URL, else the URL in
 * collector-config/alertmanager-webhook.url).
 */
export async function up({ dir = DEFAULT_DIR, webhookUrl = process.env.ALERT_WEBHOOK_URL } = {}) {
  dir = resolve(dir);
  if (existsSync(stateFile(dir))) {
    throw new StackError(
      `a stack already runs from ${dir} (${stateFile(dir)} exists): stop it with \`npm run stack:down\`${dir === DEFAULT_DIR ? "" : ` -- --dir ${dir}`}`,
    );
  }
  const bin = build();
  const p = await ports([
    "otlpHttp",
    "otlpGrpc",
    "collectorPrometheus",
    "collectorTelemetry",
    "jaegerOtlp",
    "jaegerQuery",
    "jaegerQueryGrpc",
    "jaegerHealth",
    "jaegerTelemetry",
    "prometheus",
    "alertmanager",
  ]);
  const at = (port) => `127.0.0.1:${port}`;
  for (const sub of ["jaeger", "otelcol", "prometheus/targets", "alertmanager"]) mkdirSync(join(dir, sub), { recursive: true });

  const state = { dir, pids: [], ports: p };
  const save = () => writeFileSync(stateFile(dir), `${JSON.stringify(state, null, 2)}\n`);
  const launch = (name, args, opts) => {
    const started = startProgram(name, bin[name], args, { dir: join(dir, opts.sub ?? name), ...opts });
    state.pids.push({ name, pid: started.pid, command: bin[name] });
    save();
    return started;
  };

  try {
    const jaeger = launch("jaeger", [`--config=${join(CONFIG, "jaeger.yaml")}`], {
      env: {
        JAEGER_OTLP_GRPC_LISTEN: at(p.jaegerOtlp),
        JAEGER_QUERY_HTTP_ENDPOINT: at(p.jaegerQuery),
        JAEGER_QUERY_GRPC_ENDPOINT: at(p.jaegerQueryGrpc),
        JAEGER_HEALTHCHECK_ENDPOINT: at(p.jaegerHealth),
        JAEGER_TELEMETRY_HOST: "127.0.0.1",
        JAEGER_TELEMETRY_PORT: String(p.jaegerTelemetry),
      },
    });
    const collector = launch("otelcol", [`--config=${join(CONFIG, "otel-collector.yaml")}`], {
      env: {
        OTELCOL_OTLP_GRPC_ENDPOINT: at(p.otlpGrpc),
        OTELCOL_OTLP_HTTP_ENDPOINT: at(p.otlpHttp),
        OTELCOL_PROMETHEUS_ENDPOINT: at(p.collectorPrometheus),
        OTELCOL_TELEMETRY_HOST: "127.0.0.1",
        OTELCOL_TELEMETRY_PORT: String(p.collectorTelemetry),
        JAEGER_OTLP_GRPC_ENDPOINT: at(p.jaegerOtlp),
      },
    });

    // Alertmanager reads webhook.url from its working directory at each notification.
    const url = webhookUrl || readFileSync(join(CONFIG, "alertmanager-webhook.url"), "utf8").trim();
    writeFileSync(join(dir, "alertmanager", "webhook.url"), `${url}\n`);
    const alertmanager = launch(
      "alertmanager",
      [
        `--config.file=${join(CONFIG, "alertmanager.yml")}`,
        `--storage.path=${join(dir, "alertmanager", "data")}`,
        `--web.listen-address=${at(p.alertmanager)}`,
        // No cluster: one Alertmanager, and no fixed gossip port.
        "--cluster.listen-address=",
      ],
      { cwd: join(dir, "alertmanager") },
    );

    // Prometheus resolves alerts.yml and targets/ against the directory of the
    // config file it is given: links to the shipped files, plus target files
    // with this stack's ports.
    const promDir = join(dir, "prometheus");
    for (const f of ["prometheus.yml", "alerts.yml"]) {
      rmSync(join(promDir, f), { force: true });
      symlinkSync(join(CONFIG, f), join(promDir, f));
    }
    const targets = { "otel-collector": p.collectorPrometheus, alertmanager: p.alertmanager, prometheus: p.prometheus };
    for (const [name, port] of Object.entries(targets)) {
      writeFileSync(join(promDir, "targets", `${name}.json`), `${JSON.stringify([{ targets: [at(port)] }])}\n`);
    }
    const prometheus = launch(
      "prometheus",
      [
        `--config.file=${join(promDir, "prometheus.yml")}`,
        `--storage.tsdb.path=${join(promDir, "data")}`,
        `--web.listen-address=${at(p.prometheus)}`,
      ],
      { cwd: promDir },
    );

    await Promise.all([
      waitReady("jaeger", `http://${at(p.jaegerQuery)}/api/services`, jaeger),
      waitReady("otelcol", `http://${at(p.collectorTelemetry)}/metrics`, collector),
      waitReady("alertmanager", `http://${at(p.alertmanager)}/-/ready`, alertmanager),
      waitReady("prometheus", `http://${at(p.prometheus)}/-/ready`, prometheus),
    ]);
    // The Collector's receivers open after its telemetry endpoint: wait for OTLP/HTTP too
    // (an empty POST answers 400 once it listens).
    await waitReady("otelcol", `http://${at(p.otlpHttp)}/v1/traces`, collector, (res) => res.status > 0);
  } catch (err) {
    await down({ dir, quiet: true });
    throw err;
  }

  state.env = {
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://${at(p.otlpHttp)}`,
    OTEL_EXPORTER_OTLP_GRPC_ENDPOINT: `http://${at(p.otlpGrpc)}`,
    JAEGER_URL: `http://${at(p.jaegerQuery)}`,
    PROMETHEUS_URL: `http://${at(p.prometheus)}`,
    ALERTMANAGER_URL: `http://${at(p.alertmanager)}`,
    OTELCOL_METRICS_URL: `http://${at(p.collectorTelemetry)}/metrics`,
  };
  save();
  return state;
}

function isOurs(entry) {
  try {
    return readFileSync(`/proc/${entry.pid}/cmdline`, "utf8").split("\0")[0] === entry.command;
  } catch {
    return false;
  }
}

/** Stops what `up` started from `dir` (SIGTERM, then SIGKILL after a grace period). */
export async function down({ dir = DEFAULT_DIR, quiet = false } = {}) {
  dir = resolve(dir);
  let state;
  try {
    state = JSON.parse(readFileSync(stateFile(dir), "utf8"));
  } catch {
    if (!quiet) say(`nothing to stop: no stack runs from ${dir}`);
    return;
  }
  const alive = state.pids.filter(isOurs);
  for (const e of alive) process.kill(e.pid, "SIGTERM");
  const deadline = Date.now() + STOP_GRACE_MS;
  while (alive.some(isOurs) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  for (const e of alive.filter(isOurs)) {
    say(`${e.name} (pid ${e.pid}) did not stop within ${STOP_GRACE_MS / 1000} s; killing it`);
    process.kill(e.pid, "SIGKILL");
  }
  rmSync(stateFile(dir), { force: true });
  if (!quiet) say(`stopped ${alive.map((e) => e.name).join(", ") || "nothing (all had exited)"}`);
}

function parseDir(argv) {
  const i = argv.indexOf("--dir");
  if (i === -1) return DEFAULT_DIR;
  if (!argv[i + 1]) throw new StackError("--dir needs a directory");
  return argv[i + 1];
}

async function main(argv) {
  const [command, ...rest] = argv;
  if (command === "build") {
    const paths = build();
    for (const [name, path] of Object.entries(paths)) process.stdout.write(`${name}=${path}\n`);
  } else if (command === "up") {
    const state = await up({ dir: parseDir(rest) });
    for (const [k, v] of Object.entries(state.env)) process.stdout.write(`${k}=${v}\n`);
    say(`running from ${state.dir}; stop it with \`npm run stack:down\``);
  } else if (command === "down") {
    await down({ dir: parseDir(rest) });
  } else {
    throw new StackError("usage: node scripts/stack.mjs build | up [--dir DIR] | down [--dir DIR]");
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((err) => {
    say(err instanceof StackError ? err.message : err.stack);
    process.exitCode = 1;
  });
}
