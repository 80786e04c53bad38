"""PostgreSQL and Redis servers that a test runs, stops and starts itself: outage tests take
these down, never the machine's shared servers. Each listens on a free local port, keeps its
files in a temporary folder of its own, and is stopped and its folder deleted by `close()` (or
leaving the `with`).

PostgreSQL refuses to run as root, so as root its commands run as the `postgres` user."""

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Self

import pytest
import redis

from tests.helpers import poll


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class _Server:
    def __init__(self, kind: str) -> None:
        # Not under pytest's tmp_path: as root that is private to root, and PostgreSQL runs as
        # its own user.
        self.folder = Path(tempfile.mkdtemp(prefix=f"fitq-{kind}-"))
        self.port = free_port()

    def stop(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class PrivateRedis(_Server):
    """redis-server without persistence: a stop loses every message, as a crash would."""

    def __init__(self) -> None:
        super().__init__("redis")
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._proc: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        assert self._proc is None, "already running"
        argv = [
            program_path("redis-server"), "--bind", "127.0.0.1", "--port", str(self.port),
            "--save", "", "--appendonly", "no", "--dir", str(self.folder),
        ]  # fmt: skip
        with (self.folder / "redis.log").open("ab") as log:
            self._proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        poll(self.ping, bool, timeout=20, every=0.05)

    def stop(self) -> None:
        if self._proc is None:
            return
        self._proc.kill()  # a crash: nothing is saved
        self._proc.wait(timeout=20)
        self._proc = None

    def ping(self) -> bool:
        try:
            with redis.Redis.from_url(self.url, socket_timeout=1) as client:
                return bool(client.ping())
        except redis.RedisError:
            return False

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_timeout=5)


class PrivatePostgres(_Server):
    """A cluster made by initdb in `folder`, trusting local connections as user postgres."""

    def __init__(self) -> None:
        super().__init__("postgres")
        self.data = self.folder / "pgdata"
        self.running = False
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
        self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
            "--no-sync",
        )  # fmt: skip
        self.start()

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        # fsync off: the data of a test cluster need not survive a power cut.
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -F"
        log = str(self.folder / "postgres.log")
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", log, "-w", "start")
        self.running = True

    def stop(self) -> None:
        if self.running:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
            self.running = False
        poll(lambda: _listening(self.port), lambda up: not up, timeout=20, every=0.05)

    def create_database(self, name: str) -> str:
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        return self.url(name)

    def _run(self, command: str, *args: str) -> None:
        argv = [program_path(command), *args]
        if os.geteuid() == 0:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        subprocess.run(argv, check=True, capture_output=True, cwd=self.folder, timeout=120)


PROGRAMS = ("initdb", "pg_ctl", "createdb", "redis-server")


def require_programs() -> None:
    """With CI=true a missing server program fails the test; elsewhere it skips it, as a
    missing shared server does (tests/conftest.py)."""
    missing = [name for name in PROGRAMS if find_program(name) is None]
    if not missing:
        return
    message = f"not installed: {', '.join(missing)} (the outage tests run servers of their own)"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message)
    pytest.skip(message)


def find_program(name: str) -> str | None:
    """A server's program, on PATH or in Debian's versioned PostgreSQL folder."""
    return shutil.which(name) or next(
        (str(p) for p in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))), None
    )


def program_path(name: str) -> str:
    found = find_program(name)
    if found is None:
        raise FileNotFoundError(f"{name} is not installed (needed by the outage tests)")
    return found
