/**
 * `bytes` random bytes as lower-case hex, never all zeros (an invalid trace or
 * span id), from Math.random, as the OpenTelemetry SDK's own id generator
 * makes its ids. For ids and temp file names, never for a secret: node:crypto
 * costs a process several milliseconds to load, and the processes that make
 * these (`stagetrace run` before its pipeline starts, a stage process under
 * the run's agent) would load it for nothing else.
 */
export function randomHex(bytes: number): string {
  let hex = "";
  while (hex === "" || /^0+$/.test(hex)) {
    hex = "";
    for (let i = 0; i < bytes; i++)
      hex += Math.floor(Math.random() * 256)
        .toString(16)
        .padStart(2, "0");
  }
  return hex;
}
