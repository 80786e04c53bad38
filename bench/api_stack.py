"""What the API benchmark runs against: a throw-away PostgreSQL database, migrated and seeded
in bulk, and the real API in a uvicorn process."""

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import psycopg
from sqlalchemy import create_engine, insert, text

from models.series_chunks import chunk_rows
from models.tables import LOCAL_OWNER, MetricChunk
from tests.e2e.stack import free_port
from tests.helpers import migrate

ROOT = Path(__file__).resolve().parents[1]

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@contextmanager
def bench_database(admin_url: str = PG_ADMIN_URL) -> Iterator[str]:
    """A new database fitq_bench_<random> at the newest migration, dropped at the end."""
    name = f"fitq_bench_{uuid.uuid4().hex[:10]}"
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        migrate(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def seed_experiment(url: str, epochs: int, seed: int = 0) -> int:
    """A succeeded experiment of `epochs` history rows shaped as the worker writes them
    (loss, accuracy and their val_ twins), copied in with one COPY, and their metric_chunks;
    returns its id."""
    rng = np.random.default_rng(seed)
    steps = np.arange(1, epochs + 1)
    loss = 1 / np.sqrt(steps) + rng.normal(0, 0.01, epochs)
    val_loss = 1.1 / np.sqrt(steps) + 0.2 * steps / epochs + rng.normal(0, 0.02, epochs)
    spec = {"name": f"bench-{epochs}", "fit": {"epochs": epochs}}
    engine = create_engine(url)
    with engine.begin() as conn:
        experiment_id: int = conn.execute(
            text(
                "INSERT INTO experiments (owner, name, tags, spec, status, epochs_total,"
                " current_epoch, cancel_requested, created_at, attempts)"
                " VALUES (:owner, :name, '[]', :spec, 'succeeded', :n, :n, false, now(), 1)"
                " RETURNING id"
            ),
            {"owner": LOCAL_OWNER, "name": spec["name"], "spec": json.dumps(spec), "n": epochs},
        ).scalar_one()
        raw = conn.connection.driver_connection
        assert isinstance(raw, psycopg.Connection)
        rows = [
            (
                i + 1,
                {
                    "loss": float(loss[i]),
                    "accuracy": float(0.5 + 0.5 * (1 - loss[i] / loss[0])),
                    "val_loss": float(val_loss[i]),
                    "val_accuracy": float(0.5 + 0.4 * (1 - val_loss[i] / val_loss[0])),
                },
            )
            for i in range(epochs)
        ]
        sql = "COPY epoch_metrics (experiment_id, epoch, metrics, recorded_at) FROM STDIN"
        with raw.cursor() as cursor, cursor.copy(sql) as copy:
            for epoch, metrics in rows:
                copy.write_row((experiment_id, epoch, json.dumps(metrics), "now"))
        # The metric_chunks of writes of 250 epochs, a second's worth of the circles fit's.
        chunks = [
            chunk
            for start in range(0, epochs, 250)
            for chunk in chunk_rows(experiment_id, rows[start : start + 250])
        ]
        conn.execute(insert(MetricChunk), chunks)
        conn.execute(text("ANALYZE epoch_metrics"))
        conn.execute(text("ANALYZE metric_chunks"))
    engine.dispose()
    return experiment_id


@dataclass(frozen=True)
class Served:
    """A client with one kept-alive connection to the API, and the API's process."""

    client: httpx.Client
    pid: int

    def cpu_seconds(self) -> float:
        """User and system CPU the API process has used so far (from /proc)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def api_server(database_url: str, app_dir: Path, **settings: str) -> Iterator[Served]:
    """The API in one uvicorn process (production mode, no API keys); `settings` are extra
    FITQ_* variables."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FITQ_")}
    env.update(
        FITQ_MODE="production",
        FITQ_DATABASE_URL=database_url,
        FITQ_BROKER_URL="redis://127.0.0.1:6379/0",
        FITQ_TRAINING_QUEUE=f"fitq_bench_{port}",  # nothing is submitted; nobody's worker
        FITQ_AUTH="disabled",
        FITQ_LOG_LEVEL="WARNING",
        PYTHONPATH=str(app_dir),
        **{f"FITQ_{name.upper()}": value for name, value in settings.items()},
    )
    argv = [sys.executable, "-m", "uvicorn", "api.main:app", "--port", str(port)]
    argv += ["--app-dir", str(app_dir), "--log-level", "warning", "--no-access-log"]
    server = subprocess.Popen(argv, cwd=app_dir, env=env, start_new_session=True)
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120)
    try:
        _wait_ready(client, server)
        yield Served(client, server.pid)
    finally:
        client.close()
        server.terminate()
        server.wait(timeout=30)


def _wait_ready(client: httpx.Client, server: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"uvicorn exited with {server.returncode}")
        try:
            if client.get("/openapi.json").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the API did not answer within {timeout} s")
