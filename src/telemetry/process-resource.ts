import type { Attributes } from "@opentelemetry/api";
import { arch, hostname } from "node:os";
import { PROCESS_RESOURCE_ATTR as R } from "../conventions.js";
import { redactArgv } from "../values/redaction.js";

/** `os.arch()` as the `host.arch` values of the semantic conventions name it. */
const HOST_ARCH: Record<string, string> = { x64: "amd64", arm: "arm32", ppc: "ppc32", ia32: "x86" };

let cached: Attributes | undefined;

/**
 * The `host.*` and `process.*` resource attributes of this process: what
 * OpenTelemetry's host and process detectors report, with the command line's
 * secrets censored (`redactArgv`). They describe the process that sends the
 * telemetry, so they go on the resource of its spans, log records and
 * heartbeats, not on each span. Each stage process has its own.
 */
export function processResourceAttributes(): Attributes {
  cached ??= {
    [R.hostName]: hostname(),
    [R.hostArch]: HOST_ARCH[arch()] ?? arch(),
    [R.processPid]: process.pid,
    [R.processCommandArgs]: redactArgv(process.argv),
    [R.processExecutableName]: process.title,
    [R.processExecutablePath]: process.execPath,
    [R.processRuntimeName]: "nodejs",
    [R.processRuntimeVersion]: process.versions.node,
    [R.processRuntimeDescription]: "Node.js",
  };
  return cached;
}
