"""`make run`'s mode end to end: `fitq run` with SQLite and the filesystem broker, no servers."""

import io
import os
import signal
import sqlite3
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests.e2e.conftest import embedded_env
from tests.e2e.stack import BIN, Api, Proc, free_port
from tests.helpers import circles_spec, poll, slow_circles_spec
from tests.prometheus import samples, value


class Embedded:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.metrics_port = free_port()  # the training worker's
        self.proc: Proc | None = None
        self.api = Api(f"http://127.0.0.1:{self.port}")

    def start(self) -> Api:
        argv = [str(BIN / "fitq"), "run", "--port", str(self.port)]
        env = embedded_env(self.data_dir) | {"FITQ_WORKER_METRICS_PORT": str(self.metrics_port)}
        self.proc = Proc(argv, env, self.data_dir / "run.log")
        self.api.wait_healthy()
        return self.api

    def status_in_sqlite(self, experiment_id: int) -> str:
        with sqlite3.connect(self.data_dir / "fitq.db") as conn:
            row = conn.execute("SELECT status FROM experiments WHERE id = ?", (experiment_id,))
            return str(row.fetchone()[0])


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[Embedded]:
    stack = Embedded(tmp_path)
    yield stack
    if stack.proc is not None:
        stack.proc.stop()


def test_submit_poll_history_plot_without_servers(embedded: Embedded) -> None:
    api = embedded.start()
    assert api.http.get("/healthz").json()["broker"]["ok"] is True
    experiment_id = api.submit(circles_spec(epochs=15))
    done = api.wait_status(experiment_id, {"succeeded", "failed"}, timeout=180)
    assert done["status"] == "succeeded", done
    assert [row["epoch"] for row in api.history(experiment_id)] == list(range(1, 16))
    assert {"loss", "val_loss"} <= api.history(experiment_id)[0].keys()
    png = api.http.get(
        f"/experiments/{experiment_id}/plot.png", params={"width": 700, "height": 420}
    )
    assert Image.open(io.BytesIO(png.content)).size == (700, 420)
    assert (embedded.data_dir / "fitq.db").exists()
    # One-command local use needs no API key: `fitq run` turns auth off for its API, says so,
    # and the API warns; everything belongs to "local".
    log = (embedded.data_dir / "run.log").read_text(errors="replace")
    assert "auth disabled" in log and "FITQ_AUTH=disabled: no API keys are checked" in log
    with sqlite3.connect(embedded.data_dir / "fitq.db") as conn:
        owner = conn.execute("SELECT owner FROM experiments WHERE id = ?", (experiment_id,))
        assert owner.fetchone()[0] == "local"
    dry_run = api.http.post("/experiments/validate", json=circles_spec(epochs=15))
    assert dry_run.status_code == 200, dry_run.text
    assert dry_run.json()["total_params"] == 2001
    # Both metrics on one machine, no port shared: the API's on its port, the worker's on its.
    api_metrics = samples(api.http.get("/metrics").text)
    assert value(api_metrics, "fitq_experiments", status="succeeded") == 1
    worker = httpx.get(f"http://127.0.0.1:{embedded.metrics_port}/metrics", timeout=30)
    assert value(samples(worker.text), "fitq_epochs_written_total") == 15


def test_ctrl_c_stops_both_and_the_job_runs_after_a_restart(embedded: Embedded) -> None:
    api = embedded.start()
    experiment_id = api.submit(slow_circles_spec(epochs=1000))
    assert api.wait_epoch(experiment_id, 1, timeout=180)["status"] == "running"

    assert embedded.proc is not None
    embedded.proc.signal_group(signal.SIGINT)  # what Ctrl-C in a terminal does
    poll(embedded.proc.group_alive, lambda alive: not alive, timeout=90)
    assert embedded.proc.popen.returncode == 0, embedded.proc.tail()
    # Nothing is left running or lost: the interrupted job is queued again.
    assert embedded.status_in_sqlite(experiment_id) == "queued"

    embedded.proc.stop()
    embedded.start()
    done = api.wait_status(experiment_id, {"succeeded", "failed"}, timeout=240)
    assert done["status"] == "succeeded", done
    assert [row["epoch"] for row in api.history(experiment_id)] == list(range(1, 1001))


def warmed(embedded: Embedded) -> str:
    """The run log once the training worker's pool process has imported Keras."""
    log = embedded.data_dir / "run.log"
    return poll(lambda: log.read_text(errors="replace"), lambda t: "warmed it up" in t, 180)


def test_start_up_shows_what_fitq_says(embedded: Embedded) -> None:
    embedded.start()
    started = warmed(embedded)
    # No TensorFlow or absl notices, no Celery banner, no warning about running as root (as in
    # a container) or about the broker's hostname: those are at FITQ_LOG_LEVEL=DEBUG.
    assert "fitq API on http://" in started and "train@" in started, started
    for noise in (
        "oneDNN", "absl::InitializeLog", "libtpu", "superuser privileges",
        "No hostname was supplied", "-------------- [queues]",
    ):  # fmt: skip
        assert noise not in started, noise


def test_ctrl_c_stops_an_idle_run_within_seconds(embedded: Embedded) -> None:
    embedded.start()
    warmed(embedded)
    assert embedded.proc is not None
    embedded.proc.signal_group(signal.SIGINT)
    # Nothing runs: the API and both workers are gone within seconds. An idle pool process is
    # not killed on the way down (the pool then started and warmed up a replacement).
    poll(embedded.proc.group_alive, lambda alive: not alive, timeout=5)
    assert embedded.proc.popen.returncode == 0
    log = (embedded.data_dir / "run.log").read_text(errors="replace")
    assert "ForkPoolWorker-1' pid" not in log and "ForkPoolWorker-2" not in log, log[-3000:]


def test_a_killed_worker_is_started_again_and_serves(embedded: Embedded) -> None:
    api = embedded.start()
    assert embedded.proc is not None
    training = next(pid for pid in children(embedded.proc.popen.pid) if "train@" in cmdline(pid))
    os.kill(training, signal.SIGKILL)
    log = embedded.data_dir / "run.log"
    poll(
        lambda: log.read_text(errors="replace"),
        lambda text: "the training worker stopped (killed by SIGKILL)" in text,
        timeout=10,
    )
    assert api.http.get("/healthz").status_code == 200  # the API kept serving
    experiment_id = api.submit(circles_spec(epochs=3))
    done = api.wait_status(experiment_id, {"succeeded", "failed"}, timeout=180)
    assert done["status"] == "succeeded", done
    assert embedded.proc.alive()


def test_concurrent_submits_and_dry_runs_keep_every_process_up(embedded: Embedded) -> None:
    api = embedded.start()
    spec = circles_spec(epochs=2)

    def client_session(_: int) -> list[int]:
        with httpx.Client(base_url=str(api.http.base_url), timeout=60) as http:
            ids = []
            for _round in range(5):
                for _dry_run in range(4):
                    dry_run = http.post("/experiments/validate", json=spec)
                    assert dry_run.status_code == 200, dry_run.text
                submitted = http.post("/experiments", json=spec)
                assert submitted.status_code == 201, submitted.text
                ids.append(int(submitted.json()["id"]))
            return ids

    with ThreadPoolExecutor(6) as clients:
        ids = [i for batch in clients.map(client_session, range(6)) for i in batch]
    for experiment_id in ids:
        done = api.wait_status(experiment_id, {"succeeded", "failed"}, timeout=300)
        assert done["status"] == "succeeded", done
    log = (embedded.data_dir / "run.log").read_text(errors="replace")
    assert "stopped (" not in log and "Unrecoverable error" not in log, log[-3000:]


def children(pid: int) -> list[int]:
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
