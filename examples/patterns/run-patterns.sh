#!/bin/sh
# Runs the three pattern stages in order, each its own process, and stops at
# the first that fails. Meant to run under "stagetrace run", which sets
# OUTPUT_DIR (the run directory) and the trace context:
#
#   npx stagetrace run --name patterns --run-dir out/patterns-run -- sh examples/patterns/run-patterns.sh
#
# VALUES: the JSON written as input.json's "values" (default [3, 1, 2]).
# ENABLE_FEATURE=true runs the optional stage; COMPLEX_THRESHOLD changes the complex stage's config.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
js="$root/dist/examples/patterns"
: "${OUTPUT_DIR:?set OUTPUT_DIR, or run this under stagetrace run}"
if [ ! -f "$js/simple-stage.js" ]; then
  echo "run-patterns.sh: $js is not built; run \"npm run build\" first" >&2
  exit 1
fi
export STAGETRACE_STAGES="${STAGETRACE_STAGES:-simple_stage,complex_stage,optional_stage}"
mkdir -p "$OUTPUT_DIR"
[ -f "$OUTPUT_DIR/input.json" ] || printf '{"values": %s}\n' "${VALUES:-[3, 1, 2]}" > "$OUTPUT_DIR/input.json"
node "$js/simple-stage.js"
node "$js/complex-stage.js"
node "$js/optional-stage.js"
