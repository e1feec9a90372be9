// The stack cannot be started in the test suite (no container engine), so
// this reads docker-compose.yml and the configs it mounts and checks that
// they fit together: what the Collector receives and sends, the ports, the
// endpoint the docs tell stages to use, Prometheus and Alertmanager.
import { existsSync, readFileSync } from "node:fs";
import { join, posix } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const read = (path: string) => readFileSync(join(ROOT, path), "utf8");
const yaml = (path: string) => parse(read(path));

interface Service {
  image: string;
  command?: string[];
  volumes?: string[];
  ports?: string[];
  expose?: string[];
  depends_on?: string[];
}
const compose = yaml("docker-compose.yml") as { services: Record<string, Service> };
const services = compose.services;
const collector = yaml("collector-config/otel-collector.yaml");
const prometheus = yaml("collector-config/prometheus.yml");
const alertmanager = yaml("collector-config/alertmanager.yml");
const alertsText = read("collector-config/alerts.yml");

/** The service running `image` (repository without tag). */
function serviceOf(repository: string): [string, Service] {
  const found = Object.entries(services).find(([, s]) => s.image.split(":")[0] === repository);
  if (!found) throw new Error(`docker-compose.yml has no service running ${repository}`);
  return found;
}

/** Host port → container port, from `"host:container"` entries. */
function published(service: Service): Map<number, number> {
  const map = new Map<number, number>();
  for (const p of service.ports ?? []) {
    const parts = String(p).split("/")[0]!.split(":");
    map.set(Number(parts.at(-2)), Number(parts.at(-1)));
  }
  return map;
}

/** Container ports other services can reach: published and exposed ones. */
function reachable(service: Service): Set<number> {
  return new Set([...published(service).values(), ...(service.expose ?? []).map(Number)]);
}

/** Repository path of a file mounted at `target` in `service`, or undefined. */
function mountedAt(service: Service, target: string): string | undefined {
  for (const v of service.volumes ?? []) {
    const [source, dest] = String(v).split(":");
    if (dest === target) return source!.replace(/^\.\//, "");
  }
  return undefined;
}

/** The value of `--flag=value` in a service's command. */
function flag(service: Service, name: string): string | undefined {
  const prefix = `--${name}=`;
  return service.command?.find((c) => c.startsWith(prefix))?.slice(prefix.length);
}

/** A Collector config value as docker-compose.yml runs it: `${env:VAR:-default}` is its default. */
function composeValue(value: string): string {
  return String(value).replace(/\$\{env:[A-Z0-9_]+:-([^}]*)\}/g, "$1");
}

function hostPort(endpoint: string): { host: string; port: number } {
  endpoint = composeValue(endpoint);
  const i = endpoint.lastIndexOf(":");
  return { host: endpoint.slice(0, i), port: Number(endpoint.slice(i + 1)) };
}

interface ScrapeSource {
  static_configs?: { targets: string[] }[];
  file_sd_configs?: { files: string[] }[];
}

/**
 * The targets of a scrape job or Alertmanager entry as docker-compose.yml
 * runs Prometheus: static ones, and those in the target files of the folder
 * it mounts next to prometheus.yml.
 */
function targetsOf(source: ScrapeSource): string[] {
  const [, prometheusService] = serviceOf("prom/prometheus");
  const files = (source.file_sd_configs ?? []).flatMap((c) => c.files);
  const fromFiles = files.flatMap((f) => {
    const dir = posix.dirname(posix.join("/etc/prometheus", f));
    const mounted = mountedAt(prometheusService, dir);
    if (!mounted) throw new Error(`docker-compose.yml mounts nothing at ${dir} for ${f}`);
    const groups = JSON.parse(read(join(mounted, posix.basename(f)))) as { targets: string[] }[];
    return groups.flatMap((g) => g.targets);
  });
  return [...(source.static_configs ?? []).flatMap((c) => c.targets), ...fromFiles];
}

/** Go durations as the Collector writes them (`12h`, `90m`, `30s`), in seconds. */
function seconds(duration: string): number {
  let total = 0;
  for (const [, n, unit] of String(duration).matchAll(/(\d+(?:\.\d+)?)(h|m|s)/g)) {
    total += Number(n) * { h: 3600, m: 60, s: 1 }[unit as "h" | "m" | "s"];
  }
  return total;
}

const [collectorName, collectorService] = serviceOf("otel/opentelemetry-collector-contrib");
const [jaegerName, jaegerService] = serviceOf("jaegertracing/jaeger");
const [, prometheusService] = serviceOf("prom/prometheus");
const [alertmanagerName, alertmanagerService] = serviceOf("prom/alertmanager");

describe("docker-compose.yml", () => {
  it("pins every image to a release tag", () => {
    const expected: Record<string, RegExp> = {
      "otel/opentelemetry-collector-contrib": /^0\.\d+\.\d+$/,
      "jaegertracing/jaeger": /^2\.\d+\.\d+$/,
      "prom/prometheus": /^v[23]\.\d+\.\d+$/,
      "prom/alertmanager": /^v0\.\d+\.\d+$/,
    };
    for (const [name, service] of Object.entries(services)) {
      const [repository, tag] = service.image.split(":");
      expect(tag, `${name}: ${service.image}`).toBeDefined();
      expect(tag, `${name}: ${service.image}`).not.toBe("latest");
      expect(tag, `${name}: ${service.image}`).toMatch(expected[repository!] ?? /^v?\d+\.\d+\.\d+$/);
    }
    expect(Object.keys(expected).every((r) => Object.values(services).some((s) => s.image.startsWith(`${r}:`)))).toBe(true);
  });

  it("mounts every config file it names, at the path its service reads", () => {
    const collectorConfig = flag(collectorService, "config");
    expect(collectorConfig).toBeDefined();
    expect(mountedAt(collectorService, collectorConfig!)).toBe("collector-config/otel-collector.yaml");

    const promConfig = flag(prometheusService, "config.file");
    expect(mountedAt(prometheusService, promConfig!)).toBe("collector-config/prometheus.yml");
    // rule_files are relative to prometheus.yml inside the container
    for (const rules of prometheus.rule_files as string[]) {
      expect(mountedAt(prometheusService, posix.join(posix.dirname(promConfig!), rules)), rules).toBe(`collector-config/${rules}`);
    }

    const amConfig = flag(alertmanagerService, "config.file");
    expect(mountedAt(alertmanagerService, amConfig!)).toBe("collector-config/alertmanager.yml");

    for (const service of Object.values(services)) {
      for (const v of service.volumes ?? []) {
        const source = String(v).split(":")[0]!;
        expect(existsSync(join(ROOT, source)), source).toBe(true);
      }
    }
  });

  it("publishes the Jaeger UI on 16686", () => {
    expect(published(jaegerService).get(16686)).toBe(16686);
  });
});

describe("collector-config/otel-collector.yaml", () => {
  const pipelines = collector.service.pipelines as Record<string, { receivers: string[]; processors?: string[]; exporters: string[] }>;
  const declared = (section: string) => new Set(Object.keys(collector[section] ?? {}));
  const type = (id: string) => id.split("/")[0]!;

  it("declares every receiver, processor, exporter and connector its pipelines use, and uses every one it declares", () => {
    const used = { receivers: new Set<string>(), processors: new Set<string>(), exporters: new Set<string>(), connectors: new Set<string>() };
    for (const [name, p] of Object.entries(pipelines)) {
      for (const r of p.receivers) {
        if (declared("connectors").has(r)) used.connectors.add(r);
        else {
          expect(declared("receivers").has(r), `pipeline ${name}: receiver ${r}`).toBe(true);
          used.receivers.add(r);
        }
      }
      for (const e of p.exporters) {
        if (declared("connectors").has(e)) used.connectors.add(e);
        else {
          expect(declared("exporters").has(e), `pipeline ${name}: exporter ${e}`).toBe(true);
          used.exporters.add(e);
        }
      }
      for (const proc of p.processors ?? []) {
        expect(declared("processors").has(proc), `pipeline ${name}: processor ${proc}`).toBe(true);
        used.processors.add(proc);
      }
      // memory_limiter must see data first; batch before export
      expect(p.processors?.[0], `pipeline ${name}`).toBe("memory_limiter");
      expect(p.processors, `pipeline ${name}`).toContain("batch");
    }
    for (const section of ["receivers", "processors", "exporters", "connectors"] as const) {
      expect([...used[section]].sort(), section).toEqual([...declared(section)].sort());
    }
    // a connector is the exporter of one pipeline and the receiver of another
    for (const c of declared("connectors")) {
      expect(Object.values(pipelines).some((p) => p.exporters.includes(c)), `${c} exports`).toBe(true);
      expect(Object.values(pipelines).some((p) => p.receivers.includes(c)), `${c} receives`).toBe(true);
    }
  });

  it("sends traces to Jaeger over OTLP and to spanmetrics; logs to debug or a file; metrics to Prometheus", () => {
    const traces = pipelines.traces!;
    expect(traces.receivers).toContain("otlp");
    const toJaeger = traces.exporters.filter((e) => ["otlp", "otlp_grpc"].includes(type(e)));
    expect(toJaeger).toHaveLength(1);
    expect(traces.exporters.some((e) => type(e) === "jaeger")).toBe(false); // removed from the Collector
    const { host, port } = hostPort(collector.exporters[toJaeger[0]!].endpoint);
    expect(host).toBe(jaegerName);
    expect(port).toBe(4317); // Jaeger's OTLP gRPC receiver
    expect(reachable(jaegerService).has(port)).toBe(true);
    expect(collectorService.depends_on).toContain(jaegerName);
    expect(traces.exporters).toContain("spanmetrics");

    const metrics = pipelines.metrics!;
    expect(metrics.receivers).toEqual(expect.arrayContaining(["otlp", "spanmetrics"])); // heartbeats arrive over OTLP
    expect(metrics.exporters.map(type)).toContain("prometheus");

    expect(pipelines.logs!.receivers).toContain("otlp");
    expect(pipelines.logs!.exporters.map(type).every((t) => t === "debug" || t === "file")).toBe(true);
  });

  it("turns stage spans into ms histograms keyed by stage, status and pipeline", () => {
    const spanmetrics = collector.connectors.spanmetrics;
    expect(spanmetrics.histogram.unit).toBe("ms");
    const dims = (spanmetrics.dimensions as { name: string }[]).map((d) => d.name);
    expect(dims).toEqual(expect.arrayContaining(["cicd.pipeline.task.name", "stagetrace.stage.status", "cicd.pipeline.name", "cicd.pipeline.result"]));
  });

  it("names the metrics exactly as alerts.yml uses them, and keeps a dead stage's heartbeat long enough", () => {
    const spanmetrics = collector.connectors.spanmetrics;
    const ns = String(spanmetrics.namespace ?? "traces.span.metrics").replaceAll(".", "_");
    const unitWord = { ms: "milliseconds", s: "seconds" }[spanmetrics.histogram.unit as "ms" | "s"];
    const used = new Set(alertsText.match(/\btraces_span_metrics_\w+/g));
    expect(used.size).toBeGreaterThan(0);
    for (const name of used) expect([`${ns}_calls_total`, `${ns}_duration_${unitWord}_bucket`]).toContain(name);

    // Labels the rules group by and print that come from spanmetrics dimensions
    const dimLabels = (spanmetrics.dimensions as { name: string }[]).map((d) => d.name.replaceAll(".", "_"));
    for (const label of ["cicd_pipeline_name", "cicd_pipeline_task_name", "stagetrace_stage_status", "cicd_pipeline_result"]) {
      expect(alertsText, label).toContain(label);
      expect(dimLabels).toContain(label);
    }

    // StagetraceStageLost needs the last heartbeat of a killed stage: threshold + `for`, with room to spare.
    const lost = parse(alertsText).groups.flatMap((g: { rules: object[] }) => g.rules).find((r: { alert?: string }) => r.alert === "StagetraceStageLost");
    const threshold = Number(/heartbeat_seconds > (\d+)/.exec(lost.expr)![1]);
    expect(seconds(collector.exporters.prometheus.metric_expiration)).toBeGreaterThanOrEqual(10 * (threshold + seconds(lost.for)));
  });
});

describe("the stack end to end (by configuration)", () => {
  const docs = read("docs/observability.md");

  it("the endpoint the docs give stages reaches the Collector's OTLP/HTTP receiver", () => {
    const endpoints = [...docs.matchAll(/OTEL_EXPORTER_OTLP_ENDPOINT=(\S+)/g)].map((m) => m[1]!.replace(/[`'"]/g, ""));
    const local = endpoints.filter((e) => new URL(e).hostname === "localhost");
    expect(local.length).toBeGreaterThan(0);
    for (const endpoint of new Set(local)) {
      expect(endpoint).toBe("http://localhost:4318");
      const containerPort = published(collectorService).get(Number(new URL(endpoint).port));
      const http = hostPort(collector.receivers.otlp.protocols.http.endpoint);
      expect(containerPort).toBe(http.port);
      expect(http.host).toBe("0.0.0.0"); // inside the container: reachable through the published port
    }
    const grpc = hostPort(collector.receivers.otlp.protocols.grpc.endpoint);
    expect(grpc.host).toBe("0.0.0.0");
    expect(published(collectorService).get(4317)).toBe(grpc.port);
  });

  it("Prometheus scrapes the Collector's prometheus exporter and keeps its labels", () => {
    const exporter = hostPort(collector.exporters.prometheus.endpoint);
    const job = (prometheus.scrape_configs as (ScrapeSource & { job_name: string; honor_labels?: boolean })[]).find((j) =>
      targetsOf(j).some((t) => t.startsWith(`${collectorName}:`)),
    );
    expect(job, `a scrape job for ${collectorName}`).toBeDefined();
    const target = targetsOf(job!).find((t) => t.startsWith(`${collectorName}:`))!;
    expect(hostPort(target).port).toBe(exporter.port);
    expect(reachable(collectorService).has(exporter.port)).toBe(true);
    expect(job!.honor_labels).toBe(true);
    expect(prometheusService.depends_on).toContain(collectorName);
  });

  it("Prometheus sends alerts to Alertmanager, whose routes all have receivers", () => {
    const targets = (prometheus.alerting.alertmanagers as ScrapeSource[]).flatMap(targetsOf);
    expect(targets).toEqual([`${alertmanagerName}:9093`]); // Alertmanager's default listen port
    expect(flag(alertmanagerService, "web.listen-address")).toBeUndefined();
    expect(published(alertmanagerService).get(9093)).toBe(9093);
    expect(prometheusService.depends_on).toContain(alertmanagerName);

    const receivers = new Set((alertmanager.receivers as { name: string }[]).map((r) => r.name));
    const routes = [alertmanager.route, ...(alertmanager.route.routes ?? [])] as { receiver?: string }[];
    expect(alertmanager.route.receiver).toBeDefined();
    for (const r of routes) if (r.receiver) expect(receivers.has(r.receiver), r.receiver).toBe(true);
  });

  it("the README links the observability guide", () => {
    expect(read("README.md")).toContain("docs/observability.md");
  });
});
