"""Faults with real processes on real Redis and PostgreSQL: a killed worker, a Redis restart,
a PostgreSQL outage, a diverging loss, cancels. Nothing is lost, no epoch is recorded twice.
The restarts take down servers the test runs itself (tests/private_servers.py), never the
machine's shared ones.

Each recovery prints a line "RECOVERY <test>: <seconds>s" (run with -s to see them)."""

import os
import re
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from models.db import session_scope
from models.tables import EpochMetric
from tests.e2e.fault_stack import (
    FAULT_ENV,
    FINAL,
    FaultStack,
    epochs_of,
    fault_stack,
)
from tests.e2e.stack import Proc
from tests.helpers import circles_spec, migrate, poll
from tests.private_servers import PrivatePostgres, PrivateRedis, require_programs


@pytest.fixture
def faults(database: str, redis_broker: str, tmp_path: Path) -> Iterator[FaultStack]:
    with fault_stack(tmp_path) as stack:
        yield stack


@dataclass
class PrivateFaults:
    stack: FaultStack
    postgres: PrivatePostgres
    redis: PrivateRedis


@pytest.fixture
def private_faults(tmp_path: Path) -> Iterator[PrivateFaults]:
    """A fault stack on a PostgreSQL and a Redis of its own, which its tests stop and start."""
    require_programs()
    with PrivatePostgres() as postgres, PrivateRedis() as redis_server:
        url = postgres.create_database("fitq")
        migrate(url)
        stack = FaultStack(
            tmp_path,
            FITQ_DATABASE_URL=url,
            FITQ_BROKER_URL=redis_server.url,
            FITQ_RESULT_BACKEND=redis_server.url,
        )
        try:
            stack.api.wait_healthy()
            yield PrivateFaults(stack, postgres, redis_server)
        finally:
            stack.stop()
            for worker in stack.workers:
                print(f"{worker.log.name} tail:\n" + worker.tail(2000))


def long_spec(epochs: int) -> dict[str, Any]:
    """The circles 500-unit model: about 0.1-0.2 s an epoch here."""
    return circles_spec(epochs=epochs)


def recorded_at(experiment_id: int) -> dict[int, datetime]:
    """When each history row was written, read straight from PostgreSQL."""
    query = select(EpochMetric.epoch, EpochMetric.recorded_at).where(
        EpochMetric.experiment_id == experiment_id
    )
    with session_scope() as session:
        return {row.epoch: row.recorded_at for row in session.execute(query)}


def recovery(name: str, seconds: float) -> None:
    print(f"RECOVERY {name}: {seconds:.1f}s")


def test_a_killed_worker_is_replaced_and_the_job_resumes(faults: FaultStack) -> None:
    api = faults.api
    first = faults.start_worker()
    experiment_id = api.submit(long_spec(epochs=150))
    running = api.wait_epoch(experiment_id, 40, timeout=120)
    assert running["status"] == "running"
    first.signal_group(signal.SIGKILL)  # the pool child doing the fit and its parent
    poll(first.group_alive, lambda alive: not alive, timeout=10)
    killed_at = time.monotonic()
    before = recorded_at(experiment_id)

    second = faults.start_worker()
    resumed = poll(lambda: api.get(experiment_id), lambda e: e["attempts"] == 2, timeout=60)
    recovery("killed worker (reclaimed)", time.monotonic() - killed_at)
    done = api.wait_status(experiment_id, FINAL, timeout=180)
    recovery("killed worker (succeeded)", time.monotonic() - killed_at)
    assert done["status"] == "succeeded", done["error"]
    assert (done["attempts"], resumed["status"]) == (2, "running")
    assert epochs_of(api, experiment_id) == list(range(1, 151))
    match = re.search(rf"experiment {experiment_id} resumed from epoch (\d+)", second.tail(20000))
    assert match, second.tail()
    checkpoint = int(match.group(1))
    assert 1 <= checkpoint <= max(before)
    # It resumed rather than started over: rows up to the checkpoint are the first worker's.
    after = recorded_at(experiment_id)
    assert all(after[e] == before[e] for e in range(1, checkpoint + 1))
    assert all(after[e] > before[max(before)] for e in range(checkpoint + 1, 151))
    model = api.http.get(f"/experiments/{experiment_id}/model")
    assert model.status_code == 200 and model.content[:2] == b"PK"  # a .keras zip


def pool_children(worker: Proc) -> list[int]:
    """The prefork pool processes of a worker (its Celery main process is the group leader)."""
    pid = worker.popen.pid
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def test_a_killed_pool_process_is_replaced_and_the_job_resumes_on_the_same_worker(
    faults: FaultStack,
) -> None:
    # Celery gives a new pool process this long to say it is up; the ~4-10 s import of
    # TensorFlow outlasts it, as a busy machine made it outlast the default 4 s.
    faults.env["FITQ_WORKER_PROC_ALIVE_TIMEOUT_SECONDS"] = "2"
    api = faults.api
    worker = faults.start_worker()
    experiment_id = api.submit(long_spec(epochs=150))
    assert api.wait_epoch(experiment_id, 30, timeout=120)["status"] == "running"
    (pool_process,) = pool_children(worker)
    os.kill(pool_process, signal.SIGKILL)
    killed_at = time.monotonic()

    def settled() -> tuple[int, str]:
        return api.get(experiment_id)["attempts"], worker.tail(200000)

    # Resumed by a replacement (after the heartbeat timeout and a reconcile pass), or the
    # replacement killed in turn for not saying UP in time, again and again.
    _, log = poll(settled, lambda s: s[0] == 2 or "Timed out waiting for UP" in s[1], timeout=120)
    assert "Timed out waiting for UP" not in log, log[-4000:]
    recovery("killed pool process (reclaimed)", time.monotonic() - killed_at)
    done = api.wait_status(experiment_id, FINAL, timeout=180)
    assert done["status"] == "succeeded", done["error"]
    assert done["attempts"] == 2
    assert epochs_of(api, experiment_id) == list(range(1, 151))
    assert worker.alive() and pool_children(worker) != [pool_process]
    log = worker.tail(200000)
    assert re.search(rf"experiment {experiment_id} resumed from epoch [1-9]", log), log[-4000:]
    assert "Timed out waiting for UP" not in log


def test_a_redis_restart_loses_no_job(private_faults: PrivateFaults) -> None:
    api = private_faults.stack.api
    private_faults.stack.start_worker()
    ids = [api.submit(long_spec(epochs=40)) for _ in range(3)]
    assert api.wait_epoch(ids[0], 3, timeout=120)["status"] == "running"
    private_faults.redis.stop()  # without persistence: the queued messages are gone
    private_faults.redis.start()
    restarted_at = time.monotonic()
    for experiment_id in ids:
        done = api.wait_status(experiment_id, FINAL, timeout=180)
        assert done["status"] == "succeeded", done
        assert epochs_of(api, experiment_id) == list(range(1, 41))
    recovery("redis restart (all succeeded)", time.monotonic() - restarted_at)


def test_a_postgres_outage_is_waited_out_and_every_epoch_is_kept(
    private_faults: PrivateFaults,
) -> None:
    api = private_faults.stack.api
    private_faults.stack.start_worker()
    experiment_id = api.submit(long_spec(epochs=80))
    assert api.wait_epoch(experiment_id, 5, timeout=120)["status"] == "running"
    private_faults.postgres.stop()
    try:
        stopped_at = time.monotonic()
        poll(lambda: time.monotonic() - stopped_at, lambda waited: waited >= 3, timeout=10)
    finally:
        private_faults.postgres.start()
    back_at = time.monotonic()
    api.wait_healthy()
    done = api.wait_status(experiment_id, FINAL, timeout=180)
    recovery("postgres outage (succeeded after restart)", time.monotonic() - back_at)
    assert done["status"] == "succeeded", done["error"]
    assert done["attempts"] == 1  # waited out, not taken for dead
    assert epochs_of(api, experiment_id) == list(range(1, 81))


def test_a_diverging_loss_fails_naming_the_epoch(faults: FaultStack) -> None:
    api = faults.api
    faults.start_worker()
    spec = circles_spec(epochs=30)
    spec["model"]["layers"] = [
        {"type": "Dense", "units": 500, "activation": "relu"},
        {"type": "Dense", "units": 1},
    ]
    spec["compile"] = {
        "optimizer": {"name": "sgd", "learning_rate": 10.0},
        "loss": "mean_squared_error",
    }
    experiment_id = api.submit(spec)
    done = api.wait_status(experiment_id, FINAL, timeout=120)
    assert done["status"] == "failed"
    last = epochs_of(api, experiment_id)[-1]
    assert done["error"] == f"diverged: the loss became NaN or infinite at epoch {last}"
    assert api.history(experiment_id)[-1]["loss"] is None
    assert api.http.get(f"/experiments/{experiment_id}/model").status_code == 404


def test_cancelled_jobs_stop_and_never_resume(faults: FaultStack) -> None:
    api = faults.api
    faults.start_worker()
    running = api.submit(long_spec(epochs=2000))
    queued = api.submit(long_spec(epochs=2000))
    assert api.wait_epoch(running, 3, timeout=120)["status"] == "running"
    assert api.http.post(f"/experiments/{queued}/cancel").json()["status"] == "cancelled"
    at_cancel = api.http.post(f"/experiments/{running}/cancel").json()["current_epoch"]
    cancelled_at = time.monotonic()
    done = api.wait_status(running, FINAL, timeout=30)
    took = time.monotonic() - cancelled_at
    recovery("cancel (running job stopped)", took)
    assert done["status"] == "cancelled"
    # Epochs reach SQL in batches (FITQ_HISTORY_FLUSH_SECONDS), so current_epoch at the cancel
    # may trail the fit by a second of epochs; what is bounded is the time to stop: the
    # heartbeat thread reads the flag every FITQ_CANCEL_CHECK_SECONDS (0.5 s here).
    assert took < 10 * float(FAULT_ENV["FITQ_CANCEL_CHECK_SECONDS"])
    assert at_cancel <= done["current_epoch"] < 2000
    history = epochs_of(api, running)
    # The reconciler runs every second: give it several passes, then nothing may have moved.
    reconciled = faults.workers[0].log
    poll(lambda: reconciled.stat().st_size, lambda _: time.monotonic() - cancelled_at > 4, 10)
    for experiment_id, attempts in ((running, 1), (queued, 0)):
        final = api.get(experiment_id)
        assert (final["status"], final["attempts"]) == ("cancelled", attempts)
    assert epochs_of(api, running) == history == list(range(1, done["current_epoch"] + 1))
    assert epochs_of(api, queued) == []
