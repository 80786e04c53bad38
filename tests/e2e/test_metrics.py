"""What an operator scrapes, on a real stack (uvicorn and a Celery worker on PostgreSQL and
Redis) with metrics served and JSON logs: after one job, the API's /metrics counts the
submit by its route, the experiments by status from SQL and an empty queue; the worker's
port counts the job, its epochs, the fit and the compile; a killed pool process counts as a
restart; and every line of both logs is JSON."""

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from sqlalchemy import func, select

from api.core.keys import create_key
from models.db import session_scope
from models.tables import Experiment
from tests.conftest import REDIS_URL, TEST_QUEUE
from tests.e2e.stack import BIN, Api, Proc, free_port, stack_env
from tests.helpers import circles_spec, poll
from tests.prometheus import Samples, samples, total, value

QUEUE = f"{TEST_QUEUE}_metrics"
EPOCHS = 5


class MetricsStack:
    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.port = free_port()
        env = stack_env(
            FITQ_TRAINING_QUEUE=QUEUE,
            FITQ_WORKER_METRICS_PORT=str(self.port),
            FITQ_WORKER_METRICS_HOST="127.0.0.1",
            FITQ_METRICS_DIR=str(logs / "metrics"),
            FITQ_LOG_FORMAT="json",
        )
        api_port = free_port()
        worker = [str(BIN / "fitq"), "worker", "--concurrency", "1"]
        self.worker = Proc(worker, env, logs / "worker.log")
        self.api_proc = Proc(
            [str(BIN / "python"), "-m", "uvicorn", "api.main:app", "--port", str(api_port)],
            env,
            logs / "api.log",
        )
        with session_scope() as session:
            token = create_key(session, "metrics")
        self.api_url = f"http://127.0.0.1:{api_port}"
        self.api = Api(self.api_url, token, logs)

    def api_metrics(self) -> Samples:
        response = httpx.get(f"{self.api_url}/metrics", timeout=30)  # no key: it is public
        assert response.status_code == 200, response.text
        return samples(response.text)

    def worker_metrics(self) -> Samples:
        response = httpx.get(f"http://127.0.0.1:{self.port}/metrics", timeout=30)
        assert response.status_code == 200, response.text
        return samples(response.text)

    def pool_processes(self) -> list[int]:
        pid = self.worker.popen.pid
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


@pytest.fixture(scope="module")
def stack(
    database: str, redis_broker: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MetricsStack]:
    redis.Redis.from_url(REDIS_URL).delete(QUEUE)
    stack = MetricsStack(tmp_path_factory.mktemp("metrics-stack"))
    try:
        stack.api.wait_healthy()
        poll(lambda: stack.worker.tail(), lambda log: "worker metrics on http" in log, 120)
        yield stack
    finally:
        stack.api_proc.stop()
        # A worker whose pool process was replaced outwaits a warm shutdown (as in the fault
        # tests): nothing runs here, so it is killed.
        stack.worker.signal_group(signal.SIGKILL)
        stack.worker.stop()
        redis.Redis.from_url(REDIS_URL).delete(QUEUE)
        print("worker log tail:\n" + stack.worker.tail())


def test_one_job_as_the_api_and_the_worker_count_it(stack: MetricsStack) -> None:
    experiment_id = stack.api.submit(circles_spec(epochs=EPOCHS))
    done = stack.api.wait_status(experiment_id, {"succeeded", "failed"}, timeout=300)
    assert done["status"] == "succeeded", done["error"]

    api = stack.api_metrics()
    submits = {"route": "/experiments", "method": "POST", "status": "201"}
    assert value(api, "fitq_http_requests_total", **submits) == 1
    reads = {"route": "/experiments/{experiment_id}", "method": "GET", "status": "200"}
    assert value(api, "fitq_http_requests_total", **reads) >= 1
    assert total(api, "fitq_http_request_duration_seconds_count", route="/experiments") == 1
    with session_scope() as session:
        succeeded = session.scalars(
            select(func.count()).where(Experiment.status == "succeeded")
        ).one()
    assert value(api, "fitq_experiments", status="succeeded") == succeeded >= 1
    assert value(api, "fitq_queue_depth", queue=QUEUE) == 0
    assert ("fitq_oldest_queued_seconds", frozenset()) in api

    worker = stack.worker_metrics()
    assert value(worker, "fitq_jobs_total", outcome="succeeded") == 1
    assert total(worker, "fitq_jobs_total") == 1
    assert value(worker, "fitq_epochs_written_total") == EPOCHS
    assert value(worker, "fitq_epoch_write_seconds_count") >= 1
    assert value(worker, "fitq_fit_seconds_count", trainer="compiled") == 1
    assert total(worker, "fitq_compile_seconds_count") == 1  # compiled, or from the disk cache
    assert total(worker, "fitq_compile_seconds_sum") > 0
    assert value(worker, "fitq_jobs_running") == 0
    assert value(worker, "fitq_pool_restarts_total") == 0


def test_a_killed_pool_process_counts_as_a_restart(stack: MetricsStack) -> None:
    (killed,) = stack.pool_processes()
    os.kill(killed, signal.SIGKILL)
    found = poll(
        stack.worker_metrics, lambda s: value(s, "fitq_pool_restarts_total") == 1, timeout=120
    )
    assert stack.pool_processes() != [killed]
    assert value(found, "fitq_jobs_total", outcome="succeeded") == 1  # the dead one's count
    assert value(found, "fitq_jobs_running") == 0


def test_every_log_line_is_json(stack: MetricsStack) -> None:
    stack.api.http.get("/experiments/987654")  # a 404 logged by uvicorn's access log
    for name, loggers in [
        ("api.log", {"uvicorn.error", "uvicorn.access", "api.main"}),
        ("worker.log", {"celery.apps.worker", "worker.tasks", "multiprocessing"}),
    ]:
        lines = (stack.logs / name).read_text().splitlines()
        records = [json.loads(line) for line in lines]  # each line, or the test fails here
        assert all({"time", "level", "logger", "message"} <= r.keys() for r in records), name
        assert loggers <= {r["logger"] for r in records}, name
