"""The package's pieces on their own: records written to a real file, the manifest class, the logger."""

import json
import logging
import math
import os
from pathlib import Path

import pytest

import stagetrace
from stagetrace import PipelineLogger, StageIO, StageManifest, StagetraceNotFoundError, trace_context
from stagetrace._agent import find_cli
from stagetrace._protocol import MAX_RECORD_BYTES, RecordWriter, jsonable


@pytest.fixture
def records(tmp_path, monkeypatch):
    """A records file as exec would create it, and the environment exec gives a stage."""
    path = tmp_path / "records.jsonl"
    path.write_text("")
    stage_dir = tmp_path / "run" / "03_asr"
    monkeypatch.setenv("STAGETRACE_RECORDS", str(path))
    monkeypatch.setenv("STAGE_DIR", str(stage_dir))
    monkeypatch.setenv("OUTPUT_DIR", str(tmp_path / "run"))
    monkeypatch.setenv("STAGETRACE_STAGE", "asr")
    monkeypatch.setenv("STAGETRACE_STAGES", "demux,glossary_load,asr")
    return lambda: [json.loads(line) for line in path.read_text().splitlines()]


def test_every_call_is_one_versioned_record(records, tmp_path):
    io = StageIO("asr")
    assert io.stage_dir == tmp_path / "run" / "03_asr" and io.stage_number == 3
    assert io.get_input_path("audio.wav") == tmp_path / "run" / "02_glossary_load" / "audio.wav"
    assert io.get_input_path("audio.wav", from_stage="demux") == tmp_path / "run" / "01_demux" / "audio.wav"
    io.track_input(Path("rel.wav"), "audio", format="wav", sample_rate=48000)
    io.track_output(io.get_output_path("t.json"), "transcript", segments=3)
    io.track_intermediate(io.stage_dir / ".temp" / "x.wav", retained=False, reason="temp buffer")
    io.add_config("model", "large-v2")
    io.set_config({"device": "cpu", "nested": {"batch": 16}})
    io.add_warning("low quality")
    try:
        raise ValueError("bad audio")
    except ValueError as e:
        io.add_error("Processing failed: bad audio", e)
    io.set_resources(memory_mb=1.5, gpu_used=False)
    io.finalize(status="skipped", reason="No input files")
    got = records()
    assert all(r["v"] == 1 for r in got)
    assert [r["record"] for r in got] == ["input", "output", "intermediate", "config", "config", "warning", "error", "resources", "status"]
    assert got[0] == {"v": 1, "record": "input", "path": os.path.abspath("rel.wav"), "file_type": "audio", "metadata": {"format": "wav", "sample_rate": 48000}}
    assert got[2] == {"v": 1, "record": "intermediate", "path": str(io.stage_dir / ".temp" / "x.wav"), "retained": False, "reason": "temp buffer"}
    assert got[4]["values"] == {"device": "cpu", "nested": {"batch": 16}}
    assert got[6]["exception"]["type"] == "ValueError" and got[6]["exception"]["message"] == "bad audio"
    assert got[6]["exception"]["stack"].startswith("Traceback (most recent call last):") and got[6]["exception"]["stack"].endswith("ValueError: bad audio")
    assert got[8] == {"v": 1, "record": "status", "status": "skipped", "reason": "No input files"}
    # The guide's StageManifest mirrors what was reported.
    assert io.manifest.has_errors() and io.manifest.has_warnings()
    assert io.manifest.to_dict()["status"] == "skipped"


def test_finalize_twice_keeps_the_first_status_and_later_calls_are_ignored(records):
    io = StageIO("asr")
    io.finalize(status="failed", error="disk full")
    with pytest.warns(UserWarning, match="first status stands"):
        io.finalize(status="success")
    with pytest.warns(UserWarning, match="after finalize"):
        io.add_warning("late")
    kinds = [(r["record"], r.get("status"), r.get("reason"), r.get("message")) for r in records()]
    assert kinds == [("error", None, None, "disk full"), ("status", "failed", "disk full", None)]
    with pytest.raises(ValueError, match="unknown stage status"):
        StageIO("asr").finalize(status="done")


def test_the_stage_logger_sends_log_records_once_with_levels_and_tracebacks(records):
    io = StageIO("asr")
    logger = io.get_stage_logger()
    assert isinstance(logger, logging.Logger) and io.get_stage_logger() is logger
    assert len(logger.handlers) == 1
    logger.debug("detail")
    logger.warning("careful %s", "now")
    try:
        1 / 0
    except ZeroDivisionError:
        logger.exception("division failed")
    logger.critical("on fire")
    logs = [r for r in records() if r["record"] == "log"]
    assert [(r["level"], r["console"]) for r in logs] == [("debug", False), ("warning", True), ("error", True), ("critical", True)]
    assert logs[1]["message"] == "careful now" and logs[1]["logger"] == "asr"
    assert logs[2]["message"].startswith("division failed\nTraceback") and "ZeroDivisionError" in logs[2]["message"]


def test_old_pipeline_logger_code_keeps_working(records):
    logger = PipelineLogger("asr")
    logger.info("Starting ASR")
    logger.error("failed")
    assert [(r["level"], r["message"]) for r in records() if r["record"] == "log"] == [("info", "Starting ASR"), ("error", "failed")]


def test_oversized_records_become_a_warning_that_fits(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text("")
    w = RecordWriter(str(path))
    w.send({"record": "warning", "message": "x" * (MAX_RECORD_BYTES + 1)})
    (line,) = path.read_text().splitlines()
    r = json.loads(line)
    assert r["record"] == "warning" and "over the protocol's limit" in r["message"] and len(line) < 1000


def test_values_json_cannot_hold_are_made_to_fit():
    assert jsonable({"p": Path("/a"), "n": math.nan, "t": (1, 2), "o": object.__name__, 3: {1}}) == {
        "p": "/a", "n": "nan", "t": [1, 2], "o": "object", "3": [1]}


def test_stage_manifest_class(tmp_path):
    f = tmp_path / "in.txt"
    f.write_text("hello")
    m = StageManifest("asr", 6)
    m.add_input(f, "text", lang="en")
    m.add_output(tmp_path / "missing.json", "json")
    m.add_intermediate(tmp_path / "cache", retained=True, reason="cache")
    m.set_config({"model": "large-v2"})
    m.add_config("device", "cpu")
    assert not m.has_errors() and not m.has_warnings()
    m.add_warning("careful")
    try:
        raise KeyError("segments")
    except KeyError as e:
        m.add_error("no segments", e)
    m.set_resources(memory_mb=3)
    m.finalize(status="failed", error="no segments")
    d = m.to_dict()
    assert d["stage"] == "asr" and d["stage_number"] == 6 and d["status"] == "failed" and d["status_reason"] == "no segments"
    assert d["inputs"][0]["hash"] == "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824" and d["inputs"][0]["metadata"] == {"lang": "en"}
    assert m.get_outputs()[0]["exists"] is False and m.get_intermediate_files()[0]["retained"] is True
    assert d["errors"][0]["type"] == "KeyError" and m.has_errors() and m.has_warnings()
    m.save(tmp_path / "m.json")
    again = StageManifest("other", 0)
    again.load(tmp_path / "m.json")
    assert again.to_dict() == d and again.stage_name == "asr"


def test_trace_context_is_a_carrier_for_the_otel_propagator(monkeypatch):
    monkeypatch.setenv("TRACEPARENT", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
    monkeypatch.delenv("TRACESTATE", raising=False)
    assert trace_context() == {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}


def test_find_cli_prefers_stagetrace_cli_then_path(tmp_path, monkeypatch):
    tool = tmp_path / "stagetrace"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    monkeypatch.setenv("STAGETRACE_CLI", str(tool))
    assert find_cli() == [str(tool)]
    monkeypatch.delenv("STAGETRACE_CLI")
    monkeypatch.setenv("PATH", str(tmp_path))
    assert find_cli() == [str(tool)]
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(StagetraceNotFoundError, match="npm install stagetrace"):
        find_cli()


def test_without_manifest_the_stage_runs_without_stagetrace(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("STAGETRACE_RECORDS", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    io = StageIO("local", output_base=tmp_path / "out", enable_manifest=False)
    assert io.stage_dir == tmp_path / "out" / "local" and io.stage_dir.is_dir()
    io.get_stage_logger().info("hello")
    io.track_output(io.save_json({"a": 1}, "a.json"), "json")
    io.finalize()
    assert "hello" in capsys.readouterr().err
    assert io.load_json("a.json", from_stage="local") == {"a": 1}
    assert not (io.stage_dir / "manifest.json").exists()


def test_nothing_happens_at_import():
    assert stagetrace.__all__ == ["StageIO", "StageManifest", "PipelineLogger", "StagetraceNotFoundError", "trace_context", "otel_context"]


def test_import_leaves_out_the_costly_modules_a_stage_under_the_agent_does_not_need(tmp_path):
    """typing, secrets (hmac, hashlib), socket and shutil cost a stage about 20 ms to import together:
    the package imports them where they are used, and a stage under the run's agent uses none."""
    import subprocess
    import sys

    costly = ["typing", "secrets", "hmac", "hashlib", "socket", "shutil"]
    script = (
        "import sys; before = set(sys.modules); import stagetrace; "
        "print(sorted(set(sys.modules) - before))"
    )
    # -I: no site-packages or user customisation importing them first; the package from its source folder.
    src = str(Path(stagetrace.__file__).resolve().parent.parent)
    out = subprocess.run([sys.executable, "-I", "-c", "import sys; sys.path.insert(0, %r); " % src + script],
                         capture_output=True, text=True, check=True, cwd=str(tmp_path)).stdout
    loaded = json.loads(out.replace("'", '"'))
    assert "stagetrace.stage_io" in loaded
    assert [m for m in costly if m in loaded] == []


def test_a_uri_is_sent_as_given_and_a_local_path_made_absolute(records):
    io = StageIO("asr")
    io.track_input("s3://bucket/data/part-0.parquet", "table")
    io.track_output("https://example.com/out/result.json", "json")
    io.track_input("rel.wav", "audio")
    paths = [r["path"] for r in records() if r["record"] in ("input", "output")]
    assert paths == ["s3://bucket/data/part-0.parquet", "https://example.com/out/result.json", os.path.abspath("rel.wav")]
