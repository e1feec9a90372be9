"""`pip install ./python` into a fresh venv, and the OpenTelemetry Python SDK
(from PyPI) nesting its spans under the stage span. The venvs live in the
git-ignored python/.test-venvs/ and are reused by later runs."""

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from conftest import PYTHON_DIR, assert_valid, manifest, run

VENVS = PYTHON_DIR / ".test-venvs"


def venv(name, *packages):
    """A venv with `packages` installed by pip; made once, reused while its marker says the same packages."""
    root = VENVS / name
    python = root / "bin" / "python"
    marker = root / "installed.json"
    if python.exists() and marker.exists() and json.loads(marker.read_text()) == list(packages):
        return python
    shutil.rmtree(root, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(root)], check=True, timeout=300)
    if packages:
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *packages], check=True, timeout=600)
    marker.write_text(json.dumps(list(packages)))
    return python


def test_pip_install_gives_a_package_that_runs_the_guides_stage(run_dir, tmp_path):
    # A copy, so the build leaves nothing in the source tree.
    source = tmp_path / "src"
    shutil.copytree(PYTHON_DIR, source, ignore=shutil.ignore_patterns(".test-venvs", "tests", "build", "*.egg-info", "__pycache__"))
    root = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(root)], check=True, timeout=300)
    python = root / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", str(source)], check=True, timeout=600)
    stage = tmp_path / "stage.py"
    stage.write_text(textwrap.dedent("""
        import stagetrace, sys
        from stagetrace import StageIO
        io = StageIO("installed")
        io.get_stage_logger().info("from %s" % stagetrace.__file__)
        io.finalize(status="skipped", reason="installed copy works")
    """))
    r = run([python, stage], run_dir, PYTHONPATH=None)
    assert r.returncode == 0, r.stderr
    m = manifest(run_dir / "installed")
    assert m["status"] == "skipped" and m["status_reason"] == "installed copy works"
    log = (run_dir / "installed" / "stage.log").read_text()
    assert str(root) in log  # the installed package, not the source tree
    assert_valid(run_dir)


def test_opentelemetry_sdk_spans_nest_under_the_stage_span(run_dir, tmp_path):
    python = venv("otel", "opentelemetry-sdk")
    stage = tmp_path / "otel_stage.py"
    stage.write_text(textwrap.dedent("""
        import json
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        from stagetrace import StageIO, otel_context

        io = StageIO("otel")
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        tracer = provider.get_tracer("asr")
        with tracer.start_as_current_span("transcribe", context=otel_context()):
            with tracer.start_as_current_span("decode"):
                pass
        spans = {s.name: s for s in exporter.get_finished_spans()}
        t = spans["transcribe"]
        out = io.save_json({
            "trace_id": format(t.context.trace_id, "032x"),
            "parent_span_id": format(t.parent.span_id, "016x"),
            "decode_parent": format(spans["decode"].parent.span_id, "016x"),
            "transcribe_id": format(t.context.span_id, "016x"),
        }, "spans.json")
        io.track_output(out, "json")
        io.finalize()
    """))
    r = run([python, stage], run_dir)
    assert r.returncode == 0, r.stderr
    m = manifest(run_dir / "otel")
    spans = json.loads((run_dir / "otel" / "spans.json").read_text())
    assert spans["trace_id"] == m["trace"]["trace_id"]
    assert spans["parent_span_id"] == m["trace"]["span_id"]
    assert spans["decode_parent"] == spans["transcribe_id"]
