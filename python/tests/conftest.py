"""Stages run as real processes, under the real stagetrace CLI (bin/stagetrace,
built by `npm run build` or `npm test`), against real temporary run directories."""

import gzip
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


def _otlp_value(v):
    """An OTLP/JSON AnyValue as a Python value."""
    if "stringValue" in v:
        return v["stringValue"]
    if "intValue" in v:
        return int(v["intValue"])
    if "doubleValue" in v:
        return float(v["doubleValue"])
    if "boolValue" in v:
        return v["boolValue"]
    if "arrayValue" in v:
        return [_otlp_value(x) for x in v["arrayValue"].get("values", [])]
    return None


def _otlp_attributes(attrs):
    return {a["key"]: _otlp_value(a.get("value", {})) for a in attrs or []}


class OtlpJsonReceiver:
    """An OTLP/HTTP receiver on 127.0.0.1, port 0, that keeps every JSON export it is sent (200 to each)."""

    def __init__(self):
        import http.server
        import threading

        bodies = self.bodies = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    body = b""
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                        chunk = self.rfile.read(size + 2)[:size]
                        if size == 0:
                            break
                        body += chunk
                else:
                    body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.headers.get("Content-Encoding", "").lower() == "gzip":
                    body = gzip.decompress(body)
                if "json" in self.headers.get("Content-Type", ""):
                    bodies.append((self.path, json.loads(body)))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def spans_named(self, name):
        """(resource attributes, span attributes) of every span called `name` that arrived."""
        out = []
        for path, body in self.bodies:
            if path != "/v1/traces":
                continue
            for rs in body.get("resourceSpans", []):
                resource = _otlp_attributes(rs.get("resource", {}).get("attributes"))
                for ss in rs.get("scopeSpans", []):
                    out += [(resource, _otlp_attributes(s.get("attributes"))) for s in ss.get("spans", []) if s["name"] == name]
        return out

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class otlp_receiver:
    """`with otlp_receiver() as r:` an OtlpJsonReceiver, closed at the end."""

    def __enter__(self):
        self.receiver = OtlpJsonReceiver()
        return self.receiver

    def __exit__(self, *exc):
        self.receiver.close()
