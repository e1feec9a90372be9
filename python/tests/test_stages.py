"""The guide's stages, run as `python stage.py` and under `stagetrace exec`/`run`."""

import json
import sys

from conftest import CLI, STAGES, assert_valid, log_lines, manifest, pipeline_log, run


def test_quick_start_started_directly_gets_manifest_and_both_logs(run_dir):
    prev = run_dir / "previous_stage"
    prev.mkdir()
    (prev / "input.json").write_text('{"a": 1}')
    r = run([sys.executable, STAGES / "quick_start.py"], run_dir)
    assert r.returncode == 0, r.stderr
    m = manifest(run_dir / "example")
    assert m["status"] == "success"
    assert [(i["name"], i["type"], i["metadata"], i["from_stage"]) for i in m["inputs"]] == [
        ("input.json", "json", {"description": "Input data"}, None)]  # a bare directory name is a stage only in the stage list
    assert [(o["name"], o["type"], o["exists"]) for o in m["outputs"]] == [("output.json", "json", True)]
    assert m["outputs"][0]["hash"] == m["inputs"][0]["hash"]
    assert m["process"]["command_args"][-1].endswith("quick_start.py")
    stage_log = [l for l in log_lines(run_dir / "example" / "stage.log") if l.get("logger") == "example"]
    assert [l["msg"] for l in stage_log][0] == "Starting example stage"
    assert all(l["trace_id"] == m["trace"]["trace_id"] for l in stage_log)
    assert "Stage complete" in [l["msg"] for l in pipeline_log(run_dir)]
    # The terminal still shows the stage's INFO lines.
    assert "Starting example stage" in r.stderr
    assert_valid(run_dir)


def test_quick_start_failure_records_the_traceback(run_dir):
    r = run([sys.executable, STAGES / "quick_start.py"], run_dir)  # no previous stage: the input is missing
    assert r.returncode == 1
    m = manifest(run_dir / "example")
    assert m["status"] == "failed"
    assert m["status_reason"].startswith("[Errno 2] No such file or directory")
    (err,) = m["errors"]
    assert err["type"] == "FileNotFoundError"
    assert err["stack"].startswith("Traceback (most recent call last):")
    assert err["stack"].rstrip().endswith(err["message"] if err["message"].startswith("FileNotFoundError") else "input.json'")
    blocks = [l for l in log_lines(run_dir / "example" / "stage.log") if "Traceback" in l["msg"]]
    assert len(blocks) == 1 and blocks[0]["level"] == "ERROR" and blocks[0]["msg"].startswith("Stage failed:")
    assert_valid(run_dir)


def test_debug_lines_reach_stage_log_only(run_dir):
    r = run([sys.executable, STAGES / "old_logger.py"], run_dir)
    assert r.returncode == 0, r.stderr
    stage = {l["msg"]: l["level"] for l in log_lines(run_dir / "asr" / "stage.log")}
    assert stage["Starting ASR"] == "INFO" and stage["model loaded"] == "DEBUG" and stage["low confidence on segment 3"] == "WARN"
    pipeline = [l["msg"] for l in pipeline_log(run_dir)]
    assert "Starting ASR" in pipeline and "low confidence on segment 3" in pipeline
    assert "model loaded" not in pipeline
    # The old code never called finalize(): its exit code decides.
    assert manifest(run_dir / "asr")["status"] == "success"
    assert_valid(run_dir)


def test_pattern_1_simple_stage_in_a_pipeline(run_dir):
    r = run([CLI, "run", "--name", "patterns", "--stages", "prepare,simple_stage", "--", "sh", "-c",
             'mkdir -p "$OUTPUT_DIR/01_prepare" && echo \'{"items": ["a", "b"]}\' > "$OUTPUT_DIR/01_prepare/input.json" && '
             '%s %s' % (sys.executable, STAGES / "simple_stage.py")], run_dir)
    assert r.returncode == 0, r.stderr
    m = manifest(run_dir / "02_simple_stage")
    assert m["stage_number"] == 2 and m["status"] == "success"
    assert m["inputs"][0]["path"] == str(run_dir / "01_prepare" / "input.json")
    assert m["inputs"][0]["from_stage"] == "prepare"
    assert json.loads((run_dir / "02_simple_stage" / "output.json").read_text()) == {"items": ["A", "B"]}
    pipeline = json.loads((run_dir / "pipeline.json").read_text())
    assert m["trace"]["trace_id"] == pipeline["trace"]["trace_id"]
    assert m["trace"]["parent_span_id"] == pipeline["trace"]["span_id"]
    assert_valid(run_dir)


def test_pattern_2_complex_stage(run_dir):
    demux = run_dir / "01_demux"
    demux.mkdir()
    (demux / "audio.wav").write_bytes(b"RIFF....WAVE")
    (demux / "metadata.json").write_text("{}")
    r = run([sys.executable, STAGES / "complex_stage.py"], run_dir)
    assert r.returncode == 0, r.stderr
    m = manifest(run_dir / "complex_stage")
    assert [(i["name"], i["from_stage"]) for i in m["inputs"]] == [("audio.wav", "demux"), ("metadata.json", "demux")]
    assert [(o["name"], o["metadata"]) for o in m["outputs"]] == [("primary.json", {"type": "primary"}), ("secondary.json", {"type": "secondary"})]
    (cache,) = m["intermediate_files"]
    assert cache["name"] == "model.bin" and cache["retained"] is True and cache["reason"] == "Cached model for reuse" and cache["size"] == 13
    assert m["config"] == {"model": "large-v2", "used_glossary": False}
    assert_valid(run_dir)


def test_pattern_3_optional_stage_is_skipped_with_its_reason(run_dir):
    r = run([sys.executable, STAGES / "optional_stage.py"], run_dir)
    assert r.returncode == 0, r.stderr
    m = manifest(run_dir / "optional_stage")
    assert m["status"] == "skipped" and m["status_reason"] == "Feature flag disabled"
    r = run([sys.executable, STAGES / "optional_stage.py"], run_dir, ENABLE_FEATURE="true")
    assert manifest(run_dir / "optional_stage")["status"] == "success"
    assert_valid(run_dir)


def test_an_uncaught_exception_fails_the_stage_with_type_message_and_traceback(run_dir):
    r = run([sys.executable, STAGES / "crashing_stage.py"], run_dir)
    assert r.returncode == 1
    assert "FileNotFoundError: no model at /models/large-v2" in r.stderr
    m = manifest(run_dir / "crashing")
    assert m["status"] == "failed" and m["status_reason"] == "no model at /models/large-v2"
    (err,) = m["errors"]
    assert err["type"] == "FileNotFoundError" and err["message"] == "no model at /models/large-v2"
    assert 'in load_model' in err["stack"]
    assert_valid(run_dir)


def test_the_same_script_under_stagetrace_exec(run_dir):
    r = run([CLI, "exec", "--stage", "optional_stage", "--", sys.executable, STAGES / "optional_stage.py"], run_dir)
    assert r.returncode == 0, r.stderr
    m = manifest(run_dir / "optional_stage")
    assert m["status"] == "skipped"
    # Run once: exec started python, the package did not start a second exec.
    assert m["process"]["command_args"] == [sys.executable, str(STAGES / "optional_stage.py")]
    assert len(list(run_dir.iterdir())) == 3  # optional_stage/, logs/, the run state


def test_without_the_cli_the_error_says_what_to_install_and_where_it_looked(run_dir, tmp_path):
    r = run([sys.executable, STAGES / "optional_stage.py"], run_dir, STAGETRACE_CLI=None, PATH=str(tmp_path))
    assert r.returncode == 1
    assert "StagetraceNotFoundError" in r.stderr
    assert "npm install stagetrace" in r.stderr and "STAGETRACE_CLI" in r.stderr and str(tmp_path) in r.stderr
    r = run([sys.executable, STAGES / "optional_stage.py"], run_dir, STAGETRACE_CLI=str(tmp_path / "nope"))
    assert r.returncode == 1 and "STAGETRACE_CLI=%s is not an executable" % (tmp_path / "nope") in r.stderr
