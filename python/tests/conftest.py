"""Stages run as real processes, under the real stagetrace CLI (bin/stagetrace,
built by `npm run build` or `npm test`), against real temporary run directories."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PYTHON_DIR = Path(__file__).resolve().parent.parent
REPO = PYTHON_DIR.parent
CLI = REPO / "bin" / "stagetrace"
STAGES = Path(__file__).resolve().parent / "stages"

if not (REPO / "dist" / "src" / "cli" / "main.js").exists():
    raise RuntimeError("the stagetrace CLI is not built: run `npm ci` (or `npm run build`) in %s first" % REPO)


def stage_env(run_dir, **extra):
    """A clean environment for a stage: the package importable, the CLI named by STAGETRACE_CLI, no OTLP backend."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STAGETRACE_", "OTEL_")) and k not in (
        "TRACEPARENT", "TRACESTATE", "BAGGAGE", "OUTPUT_DIR", "STAGE_DIR")}
    env["PYTHONPATH"] = str(PYTHON_DIR)
    env["STAGETRACE_CLI"] = str(CLI)
    env["OUTPUT_DIR"] = str(run_dir)
    env.update({k: str(v) for k, v in extra.items() if v is not None})
    for k, v in extra.items():
        if v is None:
            env.pop(k, None)
    return env


def run(argv, run_dir, **env):
    return subprocess.run([str(a) for a in argv], env=stage_env(run_dir, **env), capture_output=True, text=True, timeout=120)


def manifest(stage_dir):
    return json.loads((Path(stage_dir) / "manifest.json").read_text())


def log_lines(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line]


def pipeline_log(run_dir):
    logs = sorted((Path(run_dir) / "logs").glob("99_pipeline_*.log"))
    assert len(logs) == 1, logs
    return log_lines(logs[0])


def assert_valid(path):
    """Every manifest.json and pipeline.json under `path` against the shipped schemas, by `stagetrace validate`."""
    result = subprocess.run([str(CLI), "validate", str(path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture
def run_dir(tmp_path):
    d = tmp_path / "run"
    d.mkdir()
    return d
