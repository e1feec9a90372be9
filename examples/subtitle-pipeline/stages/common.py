"""Helpers shared by the example's Python stages (lib/common.ts for the TypeScript ones)."""
import os


def fail_if_asked(stage):
    """`FAIL_STAGE=<name>` makes that stage fail, to show what a failure leaves behind."""
    if os.environ.get("FAIL_STAGE") == stage:
        raise RuntimeError("FAIL_STAGE=%s: failing on purpose" % stage)


def read_track(path):
    """A whitespace-separated track file with a header line (`t voice word`): one dict per line."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().strip().split("\n")
    names = lines[0].split()
    rows = []
    for line in lines[1:]:
        cells = line.split()
        rows.append({n: (cells[i] if i < len(cells) else "") for i, n in enumerate(names)})
    return rows
