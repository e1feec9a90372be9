import { scrubText } from "../values/redaction.js";

/** Says a telemetry problem once on stderr; it never changes what the stage does. */
export function warnOnce(): (message: string) => void {
  const said = new Set<string>();
  return (message) => {
    if (said.has(message)) return;
    said.add(message);
    // A warning may name an endpoint whose URL carries credentials.
    process.stderr.write(`stagetrace: ${scrubText(message)}\n`);
  };
}
