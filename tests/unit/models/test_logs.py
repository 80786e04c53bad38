"""FITQ_LOG_FORMAT=json: every line a process logs is one JSON object, uvicorn's lines,
tracebacks and Python's warnings included."""

import json
import subprocess
import sys

from tests.helpers import ROOT

LOGS = """
import logging, warnings
from models import logs
logs.configure("json", "INFO")
logging.getLogger("uvicorn.access").info('127.0.0.1 - "GET /x HTTP/1.1" 200')
try:
    1 / 0
except ZeroDivisionError:
    logging.getLogger("fitq.job").exception("job failed:\\nsee below")
warnings.warn("a warning")
logging.getLogger("quiet").debug("below the level")
"""


def test_json_logs_are_one_object_a_line() -> None:
    done = subprocess.run(
        [sys.executable, "-c", LOGS], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines() + done.stderr.splitlines()]
    assert [(line["level"], line["logger"]) for line in lines] == [
        ("INFO", "uvicorn.access"),
        ("ERROR", "fitq.job"),
        ("WARNING", "py.warnings"),
    ]
    assert all({"time", "level", "logger", "message", "process"} <= line.keys() for line in lines)
    failed = lines[1]
    assert failed["message"] == "job failed:\nsee below"
    assert "ZeroDivisionError: division by zero" in failed["exception"]
    assert "a warning" in lines[2]["message"]
