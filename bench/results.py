"""The results file: JSON lines, one per run, each appended and flushed as soon as its run
ends, so an interrupted benchmark keeps every run it finished. The first line of each harness
invocation is its `meta` line (machine, date, versions, options)."""

import json
import sys
from pathlib import Path
from typing import Any

Line = dict[str, Any]


def append(path: Path, line: Line) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as out:
        out.write(json.dumps(line) + "\n")
        out.flush()


def read(path: Path) -> list[Line]:
    """Every complete line; a line cut short by a kill mid-write is skipped with a warning."""
    lines: list[Line] = []
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            lines.append(json.loads(raw))
        except json.JSONDecodeError:
            print(f"{path}:{number}: skipped an incomplete line", file=sys.stderr)
    return lines


def last_json_line(output: str) -> Line:
    """The JSON object a bare script prints last on its stdout."""
    for raw in reversed(output.splitlines()):
        if raw.startswith("{"):
            parsed: Line = json.loads(raw)
            return parsed
    raise ValueError("the script printed no JSON result line")
