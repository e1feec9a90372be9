"""A Python stage under `stagetrace run` with the agent on writes its records to the agent's spool
(no `stagetrace exec` process): its manifest and log lines are those of the same stage under exec."""

import json
import sys

from conftest import CLI, STAGES, assert_valid, log_lines, manifest, otlp_receiver, run

AGENT = {"STAGETRACE_RUN_AGENT": "1"}
# What differs between two runs of one stage whatever path it takes.
VARYING = {"started_at", "ended_at", "duration_ms", "timestamp", "modified", "pid", "trace_id", "span_id",
           "parent_span_id", "run_id", "run_dir", "path", "stage_log", "pipeline_log", "resources",
           "command", "command_args", "exit_code", "hostname"}


def comparable(value):
    if isinstance(value, dict):
        return {k: comparable(v) for k, v in value.items() if k not in VARYING}
    if isinstance(value, list):
        return [comparable(v) for v in value]
    return value


def comparable_manifest(m):
    m = comparable(m)
    # The pipeline's name is the run's command's: `quick_start` in one run, `stagetrace` (exec) in the other.
    m["pipeline"].pop("name")
    return m


def hosted(stage_dir):
    """True when no `stagetrace exec` ran the stage: exec logs the command it runs, the agent's client does not."""
    return not any(line["msg"].startswith("running ") for line in log_lines(stage_dir / "stage.log"))


def messages(stage_dir):
    run_dir = str(stage_dir.parent)
    return [(line["level"], line["msg"].replace(run_dir, "RUN")) for line in log_lines(stage_dir / "stage.log") if not line["msg"].startswith("running ")]


def test_a_stage_under_the_agent_matches_the_same_stage_under_exec(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for d in ("a", "b"):
        (tmp_path / d / "previous_stage").mkdir()
        (tmp_path / d / "previous_stage" / "input.json").write_text('{"x": 1}')
    a = run([CLI, "run", "--", sys.executable, STAGES / "quick_start.py"], tmp_path / "a", **AGENT)
    b = run([CLI, "run", "--", CLI, "exec", "--stage", "example", "--", sys.executable, STAGES / "quick_start.py"], tmp_path / "b")
    assert a.returncode == 0 and b.returncode == 0, a.stderr + b.stderr
    ma, mb = manifest(tmp_path / "a" / "example"), manifest(tmp_path / "b" / "example")
    assert comparable_manifest(ma) == comparable_manifest(mb)
    assert hosted(tmp_path / "a" / "example") and not hosted(tmp_path / "b" / "example")
    assert ma["status"] == "success" and len(ma["outputs"]) == 1
    # No exec in between: the manifest's process is the Python interpreter itself, its parent span the run's.
    assert ma["process"]["command_args"][0] == sys.executable
    run_state = json.loads((tmp_path / "a" / ".stagetrace-run.json").read_text())
    assert ma["trace"]["trace_id"] == run_state["trace"]["trace_id"]
    assert ma["trace"]["parent_span_id"] == run_state["trace"]["span_id"]
    assert messages(tmp_path / "a" / "example") == messages(tmp_path / "b" / "example")
    assert not (tmp_path / "a" / ".stagetrace-agent").exists()
    assert_valid(tmp_path / "a")


def test_a_stage_under_the_agent_sends_its_span_on_its_own_resource(tmp_path):
    """The span reaches an OTLP receiver with the Python process's resource and the stage's own
    OTEL_SERVICE_NAME, not the resource of the run that hosts it."""
    (tmp_path / "previous_stage").mkdir()
    (tmp_path / "previous_stage" / "input.json").write_text('{"x": 1}')
    with otlp_receiver() as receiver:
        script = tmp_path / "pipeline.sh"
        script.write_text('OTEL_SERVICE_NAME=py-stages OTEL_RESOURCE_ATTRIBUTES=team=media "%s" "%s"\n'
                          % (sys.executable, STAGES / "quick_start.py"))
        r = run([CLI, "run", "--", "sh", str(script)], tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url,
                OTEL_EXPORTER_OTLP_PROTOCOL="http/json", **AGENT)
        assert r.returncode == 0, r.stderr
        m = manifest(tmp_path / "example")
        assert hosted(tmp_path / "example")
        spans = receiver.spans_named("stage example")
    assert len(spans) == 1
    resource, span = spans[0]
    assert resource["service.name"] == "py-stages" and resource["team"] == "media"
    assert resource["process.pid"] == m["process"]["pid"]
    assert resource["process.runtime.name"] == sys.implementation.name
    assert resource["process.executable.path"] == sys.executable
    assert "process.pid" not in span


def test_an_uncaught_exception_under_the_agent_fails_the_stage_with_its_traceback(run_dir):
    r = run([CLI, "run", "--", sys.executable, STAGES / "crashing_stage.py"], run_dir, **AGENT)
    assert r.returncode == 1
    m = manifest(run_dir / "crashing")
    assert m["status"] == "failed" and m["status_reason"] == "no model at /models/large-v2"
    (err,) = m["errors"]
    assert err["type"] == "FileNotFoundError" and "in load_model" in err["stack"]
    assert hosted(run_dir / "crashing")


def test_a_stage_that_never_finalizes_under_the_agent_fails(run_dir, tmp_path):
    script = tmp_path / "no_finalize.py"
    script.write_text("from stagetrace import StageIO\nio = StageIO('lazy')\nio.get_stage_logger().info('working')\n")
    r = run([CLI, "run", "--", sys.executable, script], run_dir, **AGENT)
    m = manifest(run_dir / "lazy")
    assert m["status"] == "failed" and m["status_reason"] == "finalize() was not called", r.stderr
    assert hosted(run_dir / "lazy")


def test_a_killed_stage_under_the_agent_is_interrupted(run_dir, tmp_path):
    script = tmp_path / "killed.py"
    script.write_text("import os, signal\nfrom stagetrace import StageIO\nio = StageIO('victim')\n"
                      "io.get_stage_logger().info('about to die')\nos.kill(os.getpid(), signal.SIGKILL)\n")
    run([CLI, "run", "--", sys.executable, script], run_dir, **AGENT)
    m = manifest(run_dir / "victim")
    assert m["status"] == "interrupted"
    assert hosted(run_dir / "victim")


def test_without_the_spool_the_stage_runs_under_exec(run_dir):
    # STAGETRACE_AGENT naming a directory that is not there: the stage restarts itself under exec, as without an agent.
    r = run([sys.executable, STAGES / "optional_stage.py"], run_dir, STAGETRACE_AGENT=str(run_dir / "gone"))
    assert r.returncode == 0, r.stderr
    m = manifest(run_dir / "optional_stage")
    assert m["status"] == "skipped"
    assert not hosted(run_dir / "optional_stage")


PRINTING = """import os, sys
from stagetrace import StageIO
io = StageIO('talker')
print('plain line on stdout')
print('WARNING: a warning on stderr', file=sys.stderr)
sys.stdout.write('caf\\u00e9 split ')
sys.stdout.flush()
os.write(1, b'across writes\\n')
os.system('echo from a child process')
io.get_stage_logger().info('a logger line')
%s
"""


def stdio_lines(stage_dir):
    return [(line["level"], line.get("stream"), line["msg"]) for line in log_lines(stage_dir / "stage.log") if line.get("stream")]


def test_a_stage_under_the_agent_captures_its_stdout_and_stderr_as_exec_does(tmp_path):
    """What the process writes on stdout and stderr (its children's too) reaches the terminal byte for
    byte and stage.log line by line, the same lines exec would log."""
    script = tmp_path / "talker.py"
    script.write_text(PRINTING % "io.finalize()")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = run([CLI, "run", "--", sys.executable, script], tmp_path / "a", **AGENT)
    b = run([CLI, "run", "--", CLI, "exec", "--stage", "talker", "--", sys.executable, script], tmp_path / "b")
    assert a.returncode == 0 and b.returncode == 0, a.stderr + b.stderr
    assert hosted(tmp_path / "a" / "talker")
    expected_out = "plain line on stdout\ncafé split across writes\nfrom a child process\n"
    assert a.stdout == expected_out == b.stdout
    assert "WARNING: a warning on stderr\n" in a.stderr
    # Each stream's lines in order; how the two streams interleave depends on which pipe is read first, under exec too.
    for stream, lines in (("stdout", [("INFO", "stdout", "plain line on stdout"), ("INFO", "stdout", "café split across writes"),
                                      ("INFO", "stdout", "from a child process")]),
                          ("stderr", [("WARN", "stderr", "WARNING: a warning on stderr")])):
        of = lambda d: [x for x in stdio_lines(tmp_path / d / "talker") if x[1] == stream]
        assert of("a") == of("b") == lines
    assert manifest(tmp_path / "a" / "talker")["status"] == "success"


def test_a_killed_stage_under_the_agent_keeps_what_it_wrote_before(tmp_path):
    script = tmp_path / "talker.py"
    script.write_text(PRINTING % "sys.stdout.flush(); os.kill(os.getpid(), 9)")
    r = run([CLI, "run", "--", sys.executable, script], tmp_path, **AGENT)
    assert r.returncode != 0
    assert r.stdout == "plain line on stdout\ncafé split across writes\nfrom a child process\n"
    assert ("INFO", "stdout", "from a child process") in stdio_lines(tmp_path / "talker")
    assert manifest(tmp_path / "talker")["status"] == "interrupted"


def test_a_stage_that_waits_for_all_its_children_is_not_kept_waiting_by_the_tee(tmp_path):
    """The tee is no child of the stage: `os.wait()` until ChildProcessError returns once the
    stage's own children are reaped (it hung on the tee when the tee was one)."""
    script = tmp_path / "waits.py"
    script.write_text("import os\nfrom stagetrace import StageIO\nio = StageIO('waiter')\n"
                      "if os.fork() == 0:\n    os._exit(5)\n"
                      "codes = []\ntry:\n    while True:\n        codes.append(os.wait()[1] >> 8)\n"
                      "except ChildProcessError:\n    pass\nprint('reaped', codes)\nio.finalize()\n")
    r = run([CLI, "run", "--", sys.executable, script], tmp_path, **AGENT)  # a hang fails by run()'s timeout
    assert r.returncode == 0, r.stderr
    assert r.stdout == "reaped [5]\n"
    assert hosted(tmp_path / "waiter") and manifest(tmp_path / "waiter")["status"] == "success"


def test_a_stage_started_with_stdout_closed_keeps_its_records_apart_from_its_output(tmp_path):
    """With descriptor 1 closed, the spool file must not become descriptor 1: a child's output
    would then be written into it and read as records."""
    script = tmp_path / "closed.py"
    script.write_text("import subprocess\nfrom stagetrace import StageIO\nio = StageIO('closed')\n"
                      "subprocess.run(['sh', '-c', 'echo plain; echo \\'{\"v\":1,\"record\":\"warning\",\"message\":\"injected\"}\\''])\n"
                      "io.finalize()\n")
    for agent in ("1", "0"):
        d = tmp_path / agent
        d.mkdir()
        r = run([CLI, "run", "--", "sh", "-c", 'exec "%s" "%s" >&-' % (sys.executable, script)], d, STAGETRACE_RUN_AGENT=agent)
        assert r.returncode == 0, r.stderr
        m = manifest(d / "closed")
        assert m["status"] == "success", m
        assert not any("injected" in w["message"] for w in m["warnings"]), (agent, m["warnings"])
