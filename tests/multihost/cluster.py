"""fitq on several hosts (tests/multihost/network.py): a database host running PostgreSQL and
Redis, an API host, worker hosts and a client host, each with folders of its own under
`root/<host>`. The hosts share no folder: with FITQ_ARTIFACT_STORE=database they share
nothing but PostgreSQL and Redis, reached over the hosts' network, as machines would.
With `store="local"` they share one folder, `root/shared/artifacts` (FITQ_ARTIFACTS_DIR), as
machines would mount one shared file system at the same path; with `store="s3"` the database
host also runs moto's S3 server (tests/s3_server.py) and they keep artifacts in its bucket.

The API host runs migrations and makes the API key (`fitq migrate`, `fitq create-key`), then
uvicorn on its own address; each worker host runs `fitq worker`; the client host carries the
API's port and PostgreSQL's out to 127.0.0.1 (tests/multihost/forward.py), where a test or an
operator on the machine reaches them."""

import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.e2e.stack import BIN, Api, Proc
from tests.helpers import ROOT, poll
from tests.multihost.network import Network
from tests.private_servers import program_path

OCTETS = {"client": 2, "db": 10, "api": 20, "w1": 31, "w2": 32}
WORKERS = ("w1", "w2")
PG_PORT, REDIS_PORT, API_PORT, S3_PORT = 5432, 6379, 8000, 9000
OWNER = "multihost"
# Short thresholds, so a lost host's job moves within seconds (production: 60 s and 30 s). A
# job beats only once it fits: the heartbeat timeout must outlast loading its data and
# compiling its program on a busy machine, or a live job is taken for dead.
FAST_FAILOVER = {
    "FITQ_HEARTBEAT_TIMEOUT_SECONDS": "10",
    "FITQ_RECONCILE_INTERVAL_SECONDS": "1",
    # Longer than a fresh worker's Keras import on a busy machine (about 17 s on 2 busy cores),
    # which a job delivered meanwhile waits for: a shorter one sends its message again.
    "FITQ_QUEUED_TIMEOUT_SECONDS": "30",
    "FITQ_CHECKPOINT_EVERY_SECONDS": "1",
    "FITQ_CANCEL_CHECK_SECONDS": "0.5",
    "FITQ_HISTORY_FLUSH_SECONDS": "0.5",
}
STORES = ("database", "local", "s3")
# moto accepts any credentials; obstore signs every request with these.
S3_SETTINGS = {
    "FITQ_S3_REGION": "us-east-1",
    "FITQ_S3_ACCESS_KEY_ID": "fitq",
    "FITQ_S3_SECRET_ACCESS_KEY": "fitq",
}


@dataclass
class Ports:
    """Where the machine reaches the cluster: 127.0.0.1 ports carried to the hosts."""

    api: int = 0
    postgres: int = 0


@dataclass
class Cluster:
    root: Path
    prefix: str
    store: str = "database"
    settings: Mapping[str, str] = field(default_factory=dict)  # more FITQ_* for every host
    ports: Ports = field(default_factory=Ports)  # 0: any free port
    token: str = ""
    procs: dict[str, list[Proc]] = field(default_factory=dict)
    _api: Api | None = None

    def __post_init__(self) -> None:
        assert self.store in STORES, self.store
        self.network = Network(self.prefix, OCTETS)

    def address(self, host: str) -> str:
        return self.network.hosts[host].address

    def folder(self, host: str) -> Path:
        return self.root / host

    @property
    def database_url(self) -> str:
        return f"postgresql+psycopg://postgres@{self.address('db')}:{PG_PORT}/fitq"

    @property
    def local_database_url(self) -> str:
        """PostgreSQL as the machine reaches it, through the client host."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.ports.postgres}/fitq"

    @property
    def s3_url(self) -> str:
        return f"http://{self.address('db')}:{S3_PORT}"

    def env(self, host: str) -> dict[str, str]:
        """The host's environment: the machine's, without its FITQ_* settings, and fitq set
        up as that host's own, with folders only it uses."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FITQ_", "PYTEST"))}
        path = [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
        folder, broker = self.folder(host), f"redis://{self.address('db')}:{REDIS_PORT}/0"
        env |= {
            "PYTHONPATH": os.pathsep.join(path),
            "PYTHONUNBUFFERED": "1",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "FITQ_MODE": "production",
            "FITQ_DATABASE_URL": self.database_url,
            "FITQ_BROKER_URL": broker,
            "FITQ_RESULT_BACKEND": broker,
            "FITQ_ARTIFACT_STORE": self.store,
            "FITQ_DATA_DIR": str(folder / "data"),
            "FITQ_ARTIFACTS_DIR": str(folder / "artifacts"),
            "FITQ_KERAS_DATASETS_DIR": str(folder / "keras-datasets"),
            "FITQ_DATASET_DOWNLOADS": "false",
        }
        if self.store == "local":
            env["FITQ_ARTIFACTS_DIR"] = str(self.root / "shared" / "artifacts")
        if self.store == "s3":
            env |= {"FITQ_S3_BUCKET": "fitq", "FITQ_S3_ENDPOINT": self.s3_url, **S3_SETTINGS}
        return env | FAST_FAILOVER | dict(self.settings)

    def start(self, workers: Sequence[str] = WORKERS) -> None:
        """Every host up and fitq serving; on any failure, all of it undone."""
        try:
            self.network.build()
            for host in OCTETS:
                self._make_folders(host)
            self._start_postgres()
            self._start_redis()
            if self.store == "s3":
                self._start_s3()
            self._run_fitq("api", "migrate")
            self.token = self._run_fitq("api", "create-key", OWNER).strip().splitlines()[-1]
            uvicorn = [str(BIN / "python"), "-m", "uvicorn", "api.main:app"]
            self.spawn(
                "api", "api", [*uvicorn, "--host", self.address("api"), "--port", str(API_PORT)]
            )
            started = [self.start_worker(host, wait=False) for host in workers]
            self.ports = Ports(
                self.forward("api", API_PORT, self.ports.api),
                self.forward("db", PG_PORT, self.ports.postgres),
            )
            self.api().wait_healthy(timeout=120)
            for proc in started:
                wait_ready(proc)
        except BaseException:
            self.stop()
            raise

    def _make_folders(self, host: str) -> None:
        (self.folder(host) / "logs").mkdir(parents=True, exist_ok=True)
        if self.store == "local":
            (self.root / "shared" / "artifacts").mkdir(parents=True, exist_ok=True)

    def _start_postgres(self) -> None:
        folder, address = self.folder("db"), self.address("db")
        for path in (folder, folder / "logs"):  # PostgreSQL refuses to run as root
            shutil.chown(path, "postgres")
        data = folder / "pgdata"
        self._run_postgres("initdb", "-D", str(data), "-U", "postgres", "-A", "trust",
                           "-E", "UTF8", "--no-sync")  # fmt: skip
        with (data / "pg_hba.conf").open("a") as hba:  # the hosts' network, no password
            hba.write(f"host all all {address.rsplit('.', 1)[0]}.0/24 trust\n")
        options = f"-p {PG_PORT} -k {folder} -c listen_addresses={address} -F"
        self._run_postgres("pg_ctl", "-D", str(data), "-o", options,
                           "-l", str(folder / "logs" / "postgres.log"), "-w", "start")  # fmt: skip
        self._run_postgres("createdb", "-h", address, "-p", str(PG_PORT), "-U", "postgres", "fitq")

    def _start_redis(self) -> None:
        folder, address = self.folder("db"), self.address("db")
        redis = self.spawn("db", "redis", [
            program_path("redis-server"), "--bind", address, "--port", str(REDIS_PORT),
            "--protected-mode", "no", "--save", "", "--appendonly", "no", "--dir", str(folder),
        ])  # fmt: skip
        poll(lambda: redis.tail(), lambda log: "Ready to accept connections" in log, 30, 0.05)

    def _start_s3(self) -> None:
        """moto's S3 server on the database host, and the bucket (an unsigned CreateBucket)."""
        argv = [sys.executable, "-m", "moto.server", "-H", self.address("db"), "-p", str(S3_PORT)]
        moto = self.spawn("db", "s3", argv)
        poll(lambda: moto.tail(), lambda log: "Running on" in log, 60, 0.1)
        create = f"import httpx; httpx.put('{self.s3_url}/fitq', timeout=10).raise_for_status()"
        run(self.network.argv("db", [sys.executable, "-c", create]), self.env("db"))

    def _run_postgres(self, command: str, *args: str) -> None:
        argv = ["runuser", "-u", "postgres", "--", program_path(command), *args]
        run(self.network.argv("db", argv), self.env("db"), cwd=self.folder("db"))

    def _run_fitq(self, host: str, *args: str) -> str:
        return run(self.network.argv(host, [str(BIN / "fitq"), *args]), self.env(host))

    def spawn(self, host: str, name: str, argv: list[str], pass_fds: tuple[int, ...] = ()) -> Proc:
        """A process on `host`, its output in the host's logs/<name>.log."""
        argv = self.network.argv(host, argv)
        proc = Proc(argv, self.env(host), self.log(host, name), pass_fds=pass_fds)
        self.procs.setdefault(host, []).append(proc)
        return proc

    def log(self, host: str, name: str) -> Path:
        return self.folder(host) / "logs" / f"{name}.log"

    def start_worker(self, host: str, wait: bool = True) -> Proc:
        """A fresh `fitq worker` on `host` (logs/worker-N.log, N counting its workers)."""
        count = len(list((self.folder(host) / "logs").glob("worker-*.log")))
        argv = [str(BIN / "fitq"), "worker", "--concurrency", "1"]
        proc = self.spawn(host, f"worker-{count + 1}", argv)
        if wait:
            wait_ready(proc)
        return proc

    def workers(self, host: str) -> list[Proc]:
        return [p for p in self.procs.get(host, []) if p.log.name.startswith("worker")]

    def forward(self, host: str, port: int, local_port: int = 0) -> int:
        """Carries `host`'s `port` to 127.0.0.1 (`local_port`, or a free one): a process on the
        client host accepts on a socket bound here and connects there."""
        with socket.socket() as listening:
            listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listening.bind(("127.0.0.1", local_port))
            listening.listen(64)
            argv = [sys.executable, "-m", "tests.multihost.forward", str(listening.fileno()),
                    self.address(host), str(port)]  # fmt: skip
            self.spawn("client", f"forward-{host}-{port}", argv, (listening.fileno(),))
            return int(listening.getsockname()[1])

    def api(self) -> Api:
        """An HTTP client of the API, through the client host."""
        if self._api is None:
            self._api = Api(f"http://127.0.0.1:{self.ports.api}", self.token, self.root)
        return self._api

    def kill_host(self, host: str) -> None:
        """The host's cable pulled and every process on it killed (SIGKILL), as a machine that
        lost its power would be."""
        self.network.set_link(host, up=False)
        self.network.kill_host(host)
        for proc in self.procs.pop(host, []):
            proc.stop(timeout=5)  # reaps the killed leader, closes its log

    def revive(self, host: str, wait: bool = True) -> Proc:
        """The host's cable plugged back in and a fresh worker started on it."""
        self.network.set_link(host, up=True)
        return self.start_worker(host, wait)

    def stop(self) -> None:
        """Every process of every host killed, the network deleted; the folders stay."""
        if self._api is not None:
            self._api.http.close()
        self.network.destroy()
        for procs in self.procs.values():
            for proc in procs:
                proc.stop(timeout=5)
        self.procs.clear()

    def state(self) -> dict[str, Any]:
        return {
            "root": str(self.root), "prefix": self.prefix, "store": self.store,
            "api_port": self.ports.api, "postgres_port": self.ports.postgres,
            "token": self.token,
            "hosts": {h.name: [h.namespace, h.address, h.hostname]
                      for h in self.network.hosts.values()},
        }  # fmt: skip

    def save_state(self, path: Path) -> None:
        path.write_text(json.dumps(self.state(), indent=2) + "\n")


def wait_ready(worker: Proc, timeout: float = 240) -> None:
    """Until Celery says the worker is ready and its pool process has imported Keras (a job
    it takes before then waits for that)."""

    def ready(log: str) -> bool:
        return " ready." in log and " imported Keras " in log

    poll(lambda: worker.tail(1_000_000), ready, timeout, every=0.25)


def run(argv: list[str], env: dict[str, str], cwd: Path = ROOT) -> str:
    """A command to its end; its stdout, or an error carrying its output."""
    done = subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{argv[-3:]} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return done.stdout
