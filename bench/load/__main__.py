"""`python -m bench.load`: the API under load. Creates and seeds a throw-away PostgreSQL
database, starts the real API (production mode) with uvicorn, runs locust headless at fixed
rates against status, history and submit, prints requests, achieved rate, p50, p99 and
failures per endpoint, and exits 1 if any request failed. Stops and removes all it made."""

import importlib.util
import os
import resource
import signal
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from bench.load import database, processes
from bench.load.plan import DEFAULT_RATES, HISTORY, STATUS, SUBMIT, plan_rate
from bench.load.stats import EndpointStats, markdown_table, read_stats, total_failures
from bench.stack import drop_queues, stop_on_sigterm, wait_healthy
from tests.e2e.stack import Proc, free_port
from tests.helpers import migrate

app = typer.Typer(add_completion=False, help=__doc__)
LOCUSTFILE = Path(__file__).with_name("locustfile.py")


def _locust_argv(base_url: str, seeded: database.Seeded, rates: dict[str, float], seconds: int,
                 csv_prefix: Path) -> list[str]:  # fmt: skip
    users = sum(plan_rate(rate).users for rate in rates.values())
    argv = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless"]
    # All users spawn within one second (spread over it, so they do not fire in lockstep);
    # --reset-stats leaves that second out of the figures.
    argv += ["--users", str(users), "--spawn-rate", str(users), "--reset-stats"]
    argv += ["--run-time", f"{seconds}s", "--stop-timeout", "10", "--host", base_url]
    argv += ["--csv", str(csv_prefix), "--only-summary", "--loglevel", "WARNING"]
    argv += ["--status-rate", str(rates[STATUS]), "--history-rate", str(rates[HISTORY])]
    argv += ["--submit-rate", str(rates[SUBMIT]), "--history-id", str(seeded.history_id)]
    argv += ["--status-ids", ",".join(map(str, seeded.status_ids))]
    return argv


@app.command()
def main(
    duration: Annotated[int, typer.Option(min=5, help="Seconds of load")] = 60,
    status_rate: Annotated[float, typer.Option(min=0.1, help="GET /experiments/{id} per s")] = (
        DEFAULT_RATES[STATUS]
    ),
    history_rate: Annotated[float, typer.Option(min=0.1, help="GET .../history per s")] = (
        DEFAULT_RATES[HISTORY]
    ),
    submit_rate: Annotated[float, typer.Option(min=0.1, help="POST /experiments per s")] = (
        DEFAULT_RATES[SUBMIT]
    ),
    # Two workers, one per core here: one process puts every request behind one GIL (and
    # stalls past ~55 requests in flight, see BENCHMARKS.md).
    workers: Annotated[int, typer.Option(min=1, help="uvicorn worker processes")] = 2,
    history_epochs: Annotated[int, typer.Option(min=1, help="Epochs of the seeded run")] = 2000,
    out: Annotated[Path, typer.Option(help="Folder for locust's CSVs and the logs")] = Path(
        "var/bench-load"
    ),
    admin_url: Annotated[str, typer.Option(help="PostgreSQL URL allowed to create databases")] = (
        "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    ),
    redis_url: Annotated[str, typer.Option(help="The broker")] = "redis://127.0.0.1:6379/0",
) -> None:
    """Run the load test; exit 1 if any request failed."""
    if importlib.util.find_spec("locust") is None:
        raise typer.BadParameter("locust is not installed: pip install -e '.[bench]'")
    stop_on_sigterm()
    rates = {STATUS: status_rate, HISTORY: history_rate, SUBMIT: submit_rate}
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("locust_*.csv"):
        stale.unlink()  # a failed run must not report an earlier run's figures
    queue = f"fitq_bench_{uuid.uuid4().hex[:10]}"
    name: str | None = None
    children: list[Proc] = []
    try:
        name = database.create_database(admin_url)
        url = database.database_url(admin_url, name)
        migrate(url)
        seeded = database.seed(url, history_epochs)
        env = processes.child_env(
            FITQ_MODE="production", FITQ_DATABASE_URL=url, FITQ_BROKER_URL=redis_url,
            FITQ_TRAINING_QUEUE=queue, FITQ_VALIDATE_QUEUE=f"{queue}_validate",
            FITQ_DATA_DIR=str((out / "data").resolve()), FITQ_LOG_LEVEL="WARNING",
        )  # fmt: skip
        base_url = f"http://127.0.0.1:{free_port()}"
        children.append(processes.start_api(env, base_url, workers, out / "api.log"))
        wait_healthy(base_url, children[0], timeout=60)
        typer.echo(f"API up ({workers} uvicorn worker(s)); load for {duration} s: {rates}")
        argv = _locust_argv(base_url, seeded, rates, duration, out / "locust")
        locust_env = processes.child_env(LOCUST_FITQ_TOKEN=seeded.token)
        usage = _Usage(children[0])
        children.append(Proc(argv, locust_env, out / "locust.log", truncate=True))
        stats = _locust_stats(children[1], out, timeout=duration + 120)
        usage.finish()
    except KeyboardInterrupt:
        typer.echo("interrupted: stopping and cleaning up", err=True)
        raise typer.Exit(130) from None
    finally:
        _clean_up(children, redis_url, queue, admin_url, name)
    report = f"{markdown_table(stats, rates)}\n\n{usage.summary(workers)}\n"
    (out / "results.md").write_text(report)
    typer.echo(report)
    failures = total_failures(stats)
    if failures:
        typer.echo(f"{failures} requests failed; see {out}/locust_failures.csv", err=True)
        raise typer.Exit(1)


class _Usage:
    """CPU used by the API and by locust while locust ran, and the machine's load average:
    on a shared machine the latencies mean little without them."""

    def __init__(self, api: Proc) -> None:
        self.api = api
        self.load_before = os.getloadavg()[0]
        self.api_before = api.cpu_seconds()
        self.children_before = _children_cpu()
        self.started = time.monotonic()

    def finish(self) -> None:
        self.wall = time.monotonic() - self.started
        self.api_after = self.api.cpu_seconds()
        # Locust is the only child reaped meanwhile, so the difference is its CPU time.
        self.locust = _children_cpu() - self.children_before
        self.load_after = os.getloadavg()[0]

    def summary(self, workers: int) -> str:
        api = "unknown"
        if self.api_before is not None and self.api_after is not None:
            used = self.api_after - self.api_before
            api = f"{used:.1f} s ({used / self.wall:.0%} of one core)"
        return (
            f"while locust ran ({self.wall:.0f} s): API ({workers} worker(s)) CPU {api}; "
            f"locust CPU {self.locust:.1f} s ({self.locust / self.wall:.0%}); "
            f"load average {self.load_before:.1f} before, {self.load_after:.1f} after "
            f"({os.cpu_count()} CPUs)"
        )


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _locust_stats(locust: Proc, out: Path, timeout: float) -> list[EndpointStats]:
    code = locust.wait(timeout=timeout)
    stats_file = out / "locust_stats.csv"
    # Locust exits 1 when a request failed; that run's figures still count.
    if code not in (0, 1) or not stats_file.exists():
        raise RuntimeError(f"locust exited with {code}:\n{locust.tail()}")
    return read_stats(stats_file)


def _clean_up(
    children: list[Proc], redis_url: str, queue: str, admin_url: str, name: str | None
) -> None:
    """Stop the processes, then drop the queue and the database, each step tried even when
    one before it failed. A second Ctrl-C must not cut this short."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    steps: list[Callable[[], None]] = [child.stop for child in reversed(children)]
    steps += [lambda: drop_queues(redis_url, queue)]
    if name is not None:
        steps += [lambda: database.drop_database(admin_url, name)]
    failed = 0
    for step in steps:
        try:
            step()
        except Exception as error:
            failed += 1
            typer.echo(f"clean-up step failed: {error!r}", err=True)
    if not failed:
        typer.echo(f"stopped the processes; dropped database {name} and queue {queue}", err=True)


if __name__ == "__main__":
    app()
