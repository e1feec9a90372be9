// Pattern 1, a simple stage: one input, one output.
//
// runStage creates the stage (its directory, span and logs), runs the body
// with the stage span active, and finalizes it: `success` when the body
// returns, `failed` (with the error in the manifest) when it throws.
//
//   OUTPUT_DIR=out/patterns node dist/examples/patterns/simple-stage.js
//
// Reads input.json ({"values": [numbers]}) from the previous stage's
// directory, or from the run directory when this is the first stage; writes
// output.json with the values sorted and summed.
import { runStage } from "stagetrace";

interface Input {
  values: number[];
}

process.exitCode = await runStage("simple_stage", async (io) => {
  const log = io.getStageLogger();
  log.info("processing");

  // Input: the path, then track it (fingerprinted: size, mtime, sha256).
  const inputFile = io.getInputPath("input.json");
  io.trackInput(inputFile, "json");
  const data = io.loadJson<Input>("input.json");
  if (!Array.isArray(data.values)) throw new Error(`${inputFile}: "values" must be a list of numbers`);

  // Process.
  const values = [...data.values].sort((a, b) => a - b);
  const result = { values, count: values.length, sum: values.reduce((s, v) => s + v, 0) };
  log.debug({ count: result.count }, "sorted the values"); // stage.log only: DEBUG stays out of the pipeline log

  // Output: saveJson writes atomically and returns the path to track.
  const outputFile = io.saveJson(result, "output.json");
  io.trackOutput(outputFile, "json", { count: result.count });
  log.info({ count: result.count }, `wrote ${result.count} values`);
});
