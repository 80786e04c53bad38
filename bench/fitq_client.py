"""fitq's side of a run: submit, poll until every experiment finished, read what the worker
recorded. Polls one unfinished experiment at a time (GET /experiments/{id} is cheap; a study's
summary is not), often while it starts and as it nears its last epoch and seldom in between, so
the polling takes little from the fit it waits for (the API and PostgreSQL share its 2 cores)."""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from bench.workloads import Submission

POLL_SECONDS = 0.1  # the first epoch and the end are seen this late at most
LONGEST_POLL_SECONDS = 2.0
TERMINAL = {"succeeded", "failed", "cancelled"}


@dataclass
class Outcome:
    """What a submission became, as the client saw it."""

    wall_seconds: float
    first_epoch_seen_seconds: float | None  # POST to the first poll showing an epoch done
    experiments: dict[str, dict[str, Any]]  # model name -> GET /experiments/{id}
    histories: dict[str, dict[str, list[float | None]]] = field(default_factory=dict)


class FitqClient:
    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=60)

    def run(
        self, submission: Submission, model: str, timeout: float, alive: Callable[[], bool]
    ) -> Outcome:
        """POST, then poll until all its experiments finished; `model` names a lone
        experiment (a study's experiments are named by their variants). `alive` says whether the
        worker still runs: a dead one fails the run at once instead of at the timeout."""
        start = time.perf_counter()
        response = self.http.post(submission.route, json=submission.body)
        if response.status_code != 201:
            raise RuntimeError(f"POST {submission.route}: {response.status_code} {response.text}")
        names = _experiment_names(response.json(), model, submission.route)
        finished, first_seen = self._wait(list(names), start, timeout, alive)
        wall = time.perf_counter() - start
        experiments = {names[i]: finished[i] for i in names}
        outcome = Outcome(wall, first_seen, experiments)
        outcome.histories = {names[i]: self.history(i) for i in names}
        return outcome

    def _wait(
        self, pending: list[int], start: float, timeout: float, alive: Callable[[], bool]
    ) -> tuple[dict[int, dict[str, Any]], float | None]:
        finished: dict[int, dict[str, Any]] = {}
        first_seen: float | None = None
        pacer = Pacer()
        while pending:
            if time.perf_counter() - start > timeout:
                raise TimeoutError(f"experiments {pending} not finished after {timeout:.0f} s")
            if not alive():
                raise RuntimeError(f"the worker exited; experiments {pending} not finished")
            experiment = self.experiment(pending[0])
            if first_seen is None and (experiment["current_epoch"] or 0) >= 1:
                first_seen = time.perf_counter() - start
            if experiment["status"] in TERMINAL:
                finished[pending.pop(0)] = experiment
                pacer = Pacer()
            else:
                time.sleep(pacer.delay(experiment, time.perf_counter()))
        return finished, first_seen

    def experiment(self, experiment_id: int) -> dict[str, Any]:
        response = self.http.get(f"/experiments/{experiment_id}")
        response.raise_for_status()
        return dict(response.json())

    def history(self, experiment_id: int) -> dict[str, list[float | None]]:
        response = self.http.get(f"/experiments/{experiment_id}/history")
        response.raise_for_status()
        return columns(response.json())

    def close(self) -> None:
        self.http.close()


class Pacer:
    """When to poll next: every POLL_SECONDS until two polls have seen different epoch counts,
    then a quarter of the time the epochs left would take at the rate between the first poll
    that saw an epoch and this one (at least POLL_SECONDS, at most LONGEST_POLL_SECONDS). So
    the start, a short fit and a fit's last second are seen within POLL_SECONDS, and a long
    fit is polled every 2 s; an early stop can be seen LONGEST_POLL_SECONDS late."""

    def __init__(self) -> None:
        self.first: tuple[float, int] | None = None  # (time, epochs) when an epoch was first seen

    def delay(self, experiment: dict[str, Any], now: float) -> float:
        done, total = experiment["current_epoch"] or 0, experiment["epochs_total"]
        if done < 1 or experiment["status"] != "running":
            return POLL_SECONDS
        if self.first is None or done < self.first[1]:  # a new experiment of a study
            self.first = (now, done)
        since, then = self.first
        if done == then or now <= since:
            return POLL_SECONDS
        left = (now - since) / (done - then) * max(total - done, 0)
        return min(LONGEST_POLL_SECONDS, max(POLL_SECONDS, left / 4))


def _experiment_names(created: dict[str, Any], model: str, route: str) -> dict[int, str]:
    """A lone experiment by `model`; a study's, and a recipe's (which answers as POST /studies
    does), by their variants."""
    if route == "/experiments":
        return {int(created["id"]): model}
    if route != "/studies" and not route.startswith("/recipes/"):
        raise ValueError(f"no experiment names for POST {route}")
    return {
        int(run["experiment_id"]): variant["variant"]
        for variant in created["summary"]
        for run in variant["per_run"]
    }


def columns(rows: list[dict[str, Any]]) -> dict[str, list[float | None]]:
    """History rows ({"epoch": 1, "loss": ...}) as Keras's history: metric -> values."""
    metrics = sorted({key for row in rows for key in row} - {"epoch"})
    return {metric: [row.get(metric) for row in rows] for metric in metrics}


def parse_time(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def worker_figures(experiments: list[dict[str, Any]]) -> dict[str, Any]:
    """What the worker measured (GET /experiments/{id}'s `timings`, `backend` and `trainer`),
    over one submission's experiments; None for what this fitq does not report. `trainer`:
    the trainers' names (compiled, fit), sorted; `compile_seconds`: the seconds spent
    compiling programs, summed (0 where every program was reused); `programs`: each
    experiment's program source (compiled, reused, disk cache), in order."""
    timings = [e.get("timings") or {} for e in experiments]
    fits = [t.get("fit_seconds") for t in timings]
    rss = [int(t["max_rss_bytes"]) for t in timings if t.get("max_rss_bytes") is not None]
    firsts = [parse_time(t["first_epoch_at"]) for t in timings if t.get("first_epoch_at")]
    submitted = min(parse_time(e["created_at"]) for e in experiments)
    backends = sorted({str(e["backend"]) for e in experiments if e.get("backend")})
    trainers = [e.get("trainer") or {} for e in experiments]
    compiles = [
        float(t["compile_seconds"]) for t in trainers if t.get("compile_seconds") is not None
    ]
    names = sorted({str(t["name"]) for t in trainers if t.get("name")})
    return {
        "fit_seconds": sum(fits) if fits and None not in fits else None,
        "peak_rss_bytes": max(rss) if rss else None,
        "submit_to_first_epoch_seconds": (
            (min(firsts) - submitted).total_seconds() if firsts else None
        ),
        "worker_backend": ",".join(backends) or None,
        "trainer": names or None,
        "compile_seconds": sum(compiles) if compiles else None,
        "programs": [str(t["program"]) for t in trainers if t.get("program")] or None,
    }
