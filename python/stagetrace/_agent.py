"""Starting the stagetrace CLI as the agent of a stage started directly
(``python stage.py``): the process replaces itself with
``stagetrace exec --stage NAME -- <this same command>``, so the stage runs
once, under exec, with the records channel open."""

from __future__ import annotations

import os
import sys

# Names for annotations only, which stay unevaluated (`from __future__ import annotations`):
# importing typing would cost every stage about 4 ms.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import List, Optional

CLI_ENV = "STAGETRACE_CLI"
_REEXEC_ENV = "STAGETRACE_PYTHON_REEXEC"


class StagetraceNotFoundError(RuntimeError):
    """The stagetrace CLI, which writes the manifest and logs of a Python stage, cannot be found."""


def find_cli() -> List[str]:
    """The command that runs the stagetrace CLI: STAGETRACE_CLI, else ``stagetrace`` on PATH."""
    # Imported here: shutil (with zlib, bz2 and lzma) costs a stage about 3 ms, and only a stage that restarts under exec needs it.
    import shutil

    configured = os.environ.get(CLI_ENV, "").strip()
    if configured:
        if os.path.isfile(configured) and os.access(configured, os.X_OK):
            return [os.path.abspath(configured)]
        found = shutil.which(configured)
        if found:
            return [found]
        raise StagetraceNotFoundError(
            "%s=%s is not an executable file or a command on PATH. Point it at the stagetrace CLI "
            "(node_modules/.bin/stagetrace after `npm install stagetrace`)." % (CLI_ENV, configured)
        )
    found = shutil.which("stagetrace")
    if found:
        return [found]
    raise StagetraceNotFoundError(
        "the stagetrace CLI was not found: %s is not set, and there is no `stagetrace` on PATH (%s). "
        "The Python package reports to the CLI, which writes manifest.json, stage.log and the span. "
        "Install it with `npm install stagetrace` (Node.js 20+) and set %s=node_modules/.bin/stagetrace, "
        "or `npm install -g stagetrace`; or start the stage as `stagetrace exec --stage NAME -- python stage.py`; "
        "or create StageIO(name, enable_manifest=False) to run without stagetrace."
        % (CLI_ENV, os.environ.get("PATH", ""), CLI_ENV)
    )


def this_command() -> List[str]:
    """The command line that started this interpreter, to run again under exec."""
    orig = getattr(sys, "orig_argv", None)  # Python 3.10+: flags, -m and -c included
    if orig:
        return [sys.executable] + list(orig[1:])
    return [sys.executable] + list(sys.argv)


def reexec_under_cli(stage_name: str, output_base: Optional[str]) -> None:
    """Replaces this process with ``stagetrace exec`` running this same command. Does not return."""
    if os.environ.get(_REEXEC_ENV):
        raise StagetraceNotFoundError(
            "this stage was restarted under `stagetrace exec`, but STAGETRACE_RECORDS is still not set: "
            "the stagetrace CLI found (%s) does not speak the stage protocol; install a newer one" % " ".join(find_cli())
        )
    cli = find_cli()
    env = dict(os.environ)
    env[_REEXEC_ENV] = "1"
    if output_base is not None:
        env["OUTPUT_DIR"] = str(output_base)
    argv = cli + ["exec", "--stage", stage_name, "--"] + this_command()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    os.execve(argv[0], argv, env)
