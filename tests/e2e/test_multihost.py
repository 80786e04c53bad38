"""Several hosts (issue 20): an API host, two worker hosts, and PostgreSQL and Redis on a
database host, each a Linux network namespace with its own address, hostname and folders
(tests/multihost/), sharing no folder: uploads, checkpoints and final models are kept in
PostgreSQL (FITQ_ARTIFACT_STORE=database). A dataset uploaded on the API host trains on a
worker host; that host's cable pulled and every process on it killed mid-fit, the other host
resumes the job from the checkpoint in the store and every epoch is recorded once; the final
model downloads through the API. A study of 40 runs then spreads over both worker hosts, every
run once.

Runs as root where network namespaces are allowed; elsewhere it says why it is skipped (with
CI=true as root, a machine that cannot run it fails it)."""

import io
import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Engine, create_engine, text

from tests.helpers import poll
from tests.multihost.cluster import WORKERS, Cluster, wait_ready
from tests.multihost.network import new_prefix, sweep_stale, why_not_usable
from tests.private_servers import find_program

STORE = "database"
EPOCHS = 300  # 20-40 ms each here: killed some seconds in, with epochs left to resume
KILL_AFTER = 100  # a checkpoint at least this far in, and epochs recorded past it
STUDY_RUNS = 40
FINAL = {"succeeded", "failed", "cancelled", "partially_failed"}
SERVER_PROGRAMS = ("initdb", "pg_ctl", "createdb", "redis-server", "runuser")


def require_namespaces() -> None:
    """Skips, naming what is missing, where this machine cannot build the hosts; with CI=true
    as root (CI's case, and this machine's) that fails instead."""
    problem = why_not_usable()
    if problem is None:
        missing = [name for name in SERVER_PROGRAMS if find_program(name) is None]
        problem = f"not installed: {', '.join(missing)}" if missing else None
    if problem is None:
        return
    message = f"the multi-host test cannot run here: {problem}"
    if os.geteuid() == 0 and os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    require_namespaces()
    temp = Path(tempfile.gettempdir())
    sweep_stale(temp)  # what a run killed before its own clean-up left behind
    prefix = new_prefix()
    root = temp / prefix
    root.mkdir()
    root.chmod(0o755)  # PostgreSQL, as its own user, must reach the database host's folder
    cluster = Cluster(root, prefix, STORE)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        for log in sorted(root.glob("*/logs/*.log")):
            print(f"--- {log.relative_to(root)} (tail)\n{log.read_text(errors='replace')[-3000:]}")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def sql(cluster: Cluster) -> Iterator[Engine]:
    """The cluster's PostgreSQL, read straight (through the client host)."""
    engine = create_engine(cluster.local_database_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def dataset_id(cluster: Cluster) -> int:
    """Two noisy circles as an NPZ with a test split, uploaded on the API host."""
    response = cluster.api().http.post(
        "/datasets", files={"file": ("circles.npz", circles_npz(), "application/octet-stream")}
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def circles_npz(rows: int = 800, test_rows: int = 200) -> bytes:
    rng = np.random.default_rng(0)

    def draw(n: int) -> tuple[np.ndarray, np.ndarray]:
        y = rng.integers(0, 2, n)
        angle = rng.uniform(0, 2 * np.pi, n)
        radius = np.where(y == 1, 0.5, 1.0)
        x = np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])
        return (x + rng.normal(0, 0.1, x.shape)).astype(np.float32), y

    (x, y), (x_test, y_test) = draw(rows), draw(test_rows)
    out = io.BytesIO()
    np.savez(out, x=x, y=y, x_test=x_test, y_test=y_test)
    return out.getvalue()


def spec(dataset_id: int, epochs: int, units: int, seed: int = 0) -> dict[str, Any]:
    """Dense units-units on the upload: 512 units take about 20 ms an epoch (25 batches)."""
    dense = {"type": "Dense", "units": units, "activation": "relu"}
    return {
        "name": "multihost",
        "dataset": {"name": "upload", "dataset_id": dataset_id, "test_split": "validation"},
        "model": {"layers": [dense, dense, {"type": "Dense", "units": 1, "activation": "sigmoid"}]},
        "compile": {"optimizer": "adam", "loss": "binary_crossentropy", "metrics": ["accuracy"]},
        "fit": {"epochs": epochs, "batch_size": 32, "seed": seed},
    }


def row(sql: Engine, experiment_id: int) -> dict[str, Any]:
    query = text("SELECT worker, status, attempts, current_epoch FROM experiments WHERE id = :id")
    with sql.connect() as conn:
        return dict(conn.execute(query, {"id": experiment_id}).mappings().one())


def recorded_at(sql: Engine, experiment_id: int) -> dict[int, datetime]:
    query = text("SELECT epoch, recorded_at FROM epoch_metrics WHERE experiment_id = :id")
    with sql.connect() as conn:
        return {row.epoch: row.recorded_at for row in conn.execute(query, {"id": experiment_id})}


def host_of(cluster: Cluster, worker: str) -> str:
    """The host whose worker ran a job: the column holds the Celery node, train@HOSTNAME."""
    hostname = worker.rpartition("@")[2]
    return next(h.name for h in cluster.network.hosts.values() if h.hostname == hostname)


def test_a_dead_hosts_job_resumes_on_the_other_host_from_the_stored_checkpoint(
    cluster: Cluster, sql: Engine, dataset_id: int
) -> None:
    api = cluster.api()
    experiment_id = api.submit(spec(dataset_id, EPOCHS, units=512))
    # Running, with a checkpoint in the store and epochs recorded past it.
    poll(lambda: (row(sql, experiment_id), checkpoints(sql, experiment_id)),
         lambda s: s[1][:1] >= [KILL_AFTER] and s[0]["current_epoch"] > s[1][0], 180)  # fmt: skip
    first = host_of(cluster, row(sql, experiment_id)["worker"])
    cluster.kill_host(first)
    before = recorded_at(sql, experiment_id)
    assert row(sql, experiment_id)["status"] == "running"

    (other,) = set(WORKERS) - {first}
    moved = poll(lambda: row(sql, experiment_id), lambda r: r["attempts"] > 1, timeout=120)
    assert (host_of(cluster, moved["worker"]), moved["attempts"]) == (other, 2)
    cluster.revive(first, wait=False)  # for the study below; its Keras imports meanwhile
    done = api.wait_status(experiment_id, FINAL, timeout=240)
    assert done["status"] == "succeeded", done["error"]
    assert done["attempts"] == 2
    assert [r["epoch"] for r in api.history(experiment_id)] == list(range(1, EPOCHS + 1))
    # Resumed, not started over: the rows up to the checkpoint are the dead host's.
    resumed = re.search(
        rf"experiment {experiment_id} resumed from epoch (\d+)", worker_logs(cluster, other)
    )
    assert resumed, worker_logs(cluster, other)[-3000:]
    start = int(resumed.group(1))
    assert KILL_AFTER <= start <= max(before)
    after = recorded_at(sql, experiment_id)
    assert all(after[e] == before[e] for e in range(1, start + 1))
    assert all(after[e] > before[max(before)] for e in range(start + 1, EPOCHS + 1))

    # No host kept an artifact in a folder of its own: the store is the database.
    assert not [str(p) for p in cluster.root.glob("*/artifacts/**/*.keras")]
    model = api.http.get(f"/experiments/{experiment_id}/model")
    assert model.status_code == 200, model.text
    assert {"config.json", "model.weights.h5"} <= set(
        zipfile.ZipFile(io.BytesIO(model.content)).namelist()
    )


def test_a_study_of_40_runs_spreads_over_both_worker_hosts_each_run_once(
    cluster: Cluster, sql: Engine, dataset_id: int
) -> None:
    for host in WORKERS:  # the host the test above killed is back, with a fresh worker
        alive = [proc for proc in cluster.workers(host) if proc.alive()]
        wait_ready(alive[-1] if alive else cluster.revive(host, wait=False))
    # The architecture above: each host has its program (compiled, or in its disk cache).
    base = spec(dataset_id, 5, units=512)
    body = {"name": "multihost", "base": base, "repeats": STUDY_RUNS}
    response = cluster.api().http.post("/studies", json=body)
    assert response.status_code == 201, response.text

    def study() -> dict[str, Any]:
        return dict(cluster.api().http.get(response.headers["location"]).json())

    assert poll(study, lambda s: s["status"] in FINAL, timeout=300)["status"] == "succeeded"
    query = text(
        "SELECT e.worker, e.status, e.attempts, count(m.epoch) AS rows,"
        " count(DISTINCT m.epoch) AS epochs, min(m.epoch) AS first, max(m.epoch) AS last"
        " FROM experiments e LEFT JOIN epoch_metrics m ON m.experiment_id = e.id"
        " WHERE e.study_id = :id GROUP BY e.id"
    )
    with sql.connect() as conn:
        runs = [dict(r) for r in conn.execute(query, {"id": response.json()["id"]}).mappings()]
    assert len(runs) == STUDY_RUNS
    once = {"status": "succeeded", "attempts": 1, "rows": 5, "epochs": 5, "first": 1, "last": 5}
    assert [{k: run[k] for k in once} for run in runs] == [once] * STUDY_RUNS
    assert {host_of(cluster, run["worker"]) for run in runs} == set(WORKERS)


def worker_logs(cluster: Cluster, host: str) -> str:
    logs = sorted((cluster.folder(host) / "logs").glob("worker-*.log"))
    return "".join(log.read_text(errors="replace") for log in logs)


def checkpoints(sql: Engine, experiment_id: int) -> list[int]:
    """The epochs of the experiment's checkpoints in the store, newest first."""
    query = text("SELECT key FROM artifact_objects WHERE key LIKE :prefix")
    prefix = f"experiments/{experiment_id}/checkpoints/epoch-%"
    with sql.connect() as conn:
        keys = conn.execute(query, {"prefix": prefix}).scalars().all()
    return sorted((int(key.rsplit("-", 1)[1].split(".")[0]) for key in keys), reverse=True)
