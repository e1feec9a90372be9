"""One small Python stage: `python python-stage.py <package|bare> <name>`.

Both modes write the same output file into the stage's directory and log one
line; `package` does it through stagetrace.StageIO (manifest.json, stage.log,
the pipeline log, the span), `bare` with the standard library only."""

import logging
import os
import sys

mode, name = sys.argv[1], sys.argv[2]
if mode == "package":
    from stagetrace import StageIO

    io = StageIO(name)
    log = io.get_stage_logger()
    out = io.get_output_path("result.txt")
    out.write_text("done\n")
    io.track_output(out, "text")
    log.info("wrote %s", out)
    io.finalize()
else:
    stage_dir = os.path.join(os.environ["OUTPUT_DIR"], name)
    os.makedirs(stage_dir, exist_ok=True)
    logging.basicConfig(filename=os.path.join(stage_dir, "stage.log"), level=logging.INFO)
    out = os.path.join(stage_dir, "result.txt")
    with open(out, "w") as f:
        f.write("done\n")
    logging.getLogger(name).info("wrote %s", out)
