"""Child processes kept running until Ctrl-C or SIGTERM: `fitq run` (the API and its workers)
and `fitq worker --gpus` (a training worker per GPU) supervise theirs the same way."""

import logging
import signal
import subprocess
import time

from rich.console import Console
from rich.text import Text

from models.settings import get_settings

console = Console(stderr=True)
log = logging.getLogger("fitq")


def say(markup: str, level: int = logging.INFO) -> None:
    """A line for whoever runs the command: rich text on stderr, or with FITQ_LOG_FORMAT=json
    a log record (JSON like every other line of `fitq run`)."""
    if get_settings().log_format == "json":
        log.log(level, Text.from_markup(markup).plain)
    else:
        console.print(markup)


class Child:
    """One supervised process, started again when it dies: a worker killed by the OOM killer
    or a crash must not take the API and the other workers down with it."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        self.name, self.argv, self.env = name, argv, env
        self.delay = 0.5  # before a restart; doubles while it keeps dying young
        self.restart_at: float | None = None
        self._start()

    def _start(self) -> None:
        self.popen = subprocess.Popen(self.argv, env=self.env)
        self.started = time.monotonic()
        self.restart_at = None

    def restart_if_dead(self) -> None:
        now = time.monotonic()
        if self.restart_at is not None:
            if now >= self.restart_at:
                self._start()
            return
        code = self.popen.poll()
        if code is None:
            return
        lived = now - self.started
        self.delay = 1.0 if lived > 60 else min(self.delay * 2, 30.0)
        self.restart_at = now + self.delay
        say(
            f"[bold red]{self.name} stopped[/] ({_exit_reason(code)}) after {lived:.0f} s; "
            f"starting it again in {self.delay:.0f} s",
            logging.WARNING,
        )


def supervise(children: list[Child], stopping: str) -> None:
    """Restart each child that dies until Ctrl-C or SIGTERM, then print `stopping` and stop
    them all: a worker's warm shutdown hands its running job back to the queue."""
    received: list[int] = []
    signal.signal(signal.SIGINT, lambda signum, _frame: received.append(signum))
    signal.signal(signal.SIGTERM, lambda signum, _frame: received.append(signum))
    while not received:
        for child in children:
            child.restart_if_dead()
        time.sleep(0.2)
    say(stopping)
    # Ctrl-C already reached every process of the terminal's group; give them a moment to act
    # on it before a SIGTERM, which also covers a `kill` aimed at this process alone.
    stop_all(
        [child.popen for child in children],
        first_wait=5.0 if signal.SIGINT in received else 0.0,
    )


def _exit_reason(code: int) -> str:
    if code < 0:
        return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"


def stop_all(
    children: list[subprocess.Popen[bytes]], first_wait: float, grace: float = 60.0
) -> None:
    _wait_all(children, first_wait)
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    _wait_all(children, grace)
    for child in children:
        if child.poll() is None:
            child.kill()
            child.wait()


def _wait_all(children: list[subprocess.Popen[bytes]], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    for child in children:
        try:
            child.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            return
