"""What a training worker tells Prometheus: jobs by how they ended, jobs running, epochs
written and the time each write took, fit and compile seconds, pool processes replaced. Each
pool process writes its own numbers to the worker's metrics folder (models/metrics_dir.py);
the Celery main process serves their sum (worker/metrics_server.py). prometheus-client is
imported on first use, after the folder is chosen: it picks its file-backed values when it is
first imported. (docs/operations.md#metrics)"""

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING, NamedTuple

from models import metrics_dir
from models.settings import get_settings

if TYPE_CHECKING:
    from prometheus_client import Counter, Gauge, Histogram

ROLE = "worker"
# Seconds one write of a batch of epochs with the heartbeat takes (retries through an outage
# included: what the fit or the job's background thread waited).
WRITE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 60.0)
FIT_BUCKETS = (0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 12 * 3600, 24 * 3600)
COMPILE_BUCKETS = (0.01, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)


class Instruments(NamedTuple):
    jobs: "Counter"
    running: "Gauge"
    epochs: "Counter"
    write_seconds: "Histogram"
    fit_seconds: "Histogram"
    compile_seconds: "Histogram"
    pool_restarts: "Counter"


def folder() -> str:
    """This process's metrics folder, chosen (and named for prometheus-client) on first call."""
    return str(metrics_dir.use(get_settings().metrics_path, ROLE))


@cache
def instruments() -> Instruments:
    folder()
    from prometheus_client import Counter, Gauge, Histogram  # after folder(): see above

    # registry=None: the server's registry reads them back from the folder's files.
    return Instruments(
        jobs=Counter(
            "fitq_jobs", "Training jobs by how their run ended", ["outcome"], registry=None
        ),
        running=Gauge(
            "fitq_jobs_running",
            "Training jobs running now",
            registry=None,
            multiprocess_mode="livesum",  # a dead pool process's job no longer counts
        ),
        epochs=Counter("fitq_epochs_written", "Epochs written to SQL", registry=None),
        write_seconds=Histogram(
            "fitq_epoch_write_seconds",
            "Seconds to write a batch of epochs with the heartbeat",
            buckets=WRITE_BUCKETS,
            registry=None,
        ),
        fit_seconds=Histogram(
            "fitq_fit_seconds",
            "Seconds a fit ran, by trainer",
            ["trainer"],
            buckets=FIT_BUCKETS,
            registry=None,
        ),
        compile_seconds=Histogram(
            "fitq_compile_seconds",
            "Seconds to have the compiled trainer's program, by where it came from",
            ["source"],
            buckets=COMPILE_BUCKETS,
            registry=None,
        ),
        pool_restarts=Counter(
            "fitq_pool_restarts",
            "Pool processes started to replace one that died",
            registry=None,
        ),
    )


@contextmanager
def job_running() -> Iterator[None]:
    """A job runs meanwhile; one that raises out of its run counts as outcome "error" (the
    reconciler sends it again)."""
    meters = instruments()
    meters.running.inc()
    try:
        yield
    except Exception:
        meters.jobs.labels("error").inc()
        raise
    finally:
        meters.running.dec()


def job_ended(outcome: str) -> None:
    instruments().jobs.labels(outcome).inc()


def epochs_written(count: int, seconds: float) -> None:
    meters = instruments()
    meters.epochs.inc(count)
    meters.write_seconds.observe(seconds)


def fit_ended(trainer: str, seconds: float) -> None:
    instruments().fit_seconds.labels(trainer).observe(seconds)


def compiled(source: str, seconds: float) -> None:
    """A program had: "compiled" by XLA now, from the "disk cache", or "reused"."""
    instruments().compile_seconds.labels(source.replace(" ", "_")).observe(seconds)


def pool_process_replaced() -> None:
    instruments().pool_restarts.inc()
