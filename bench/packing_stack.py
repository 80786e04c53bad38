"""Packing end to end, as a user waits for it: a real fitq stack on this machine's PostgreSQL
and Redis (bench/stack.py: a throw-away database and queue), one JAX worker at a time; each
round POSTs one experiment alone and a study of its five repeats and polls until every run
succeeded. First with packing on (FITQ_PACK_REPEATS=8), then on a new worker with it off
(FITQ_PACK_REPEATS=1): the five run one after another, as before packing. Each worker first
runs the workload once, not reported, so every measured run reuses its compiled programs.
The figures are medians over the rounds, and their ratios to one run alone on the same
worker.

    python -m bench.packing_stack [ROUNDS] [EPOCHS]

Figures and the machine: BENCHMARKS.md, "Packing"."""

import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from bench.packing import WORKLOADS
from bench.stack import (
    ROOT,
    StackConfig,
    api_process,
    fitq_env,
    forget_queues,
    stop_on_sigterm,
    temporary_database,
)
from tests.e2e.stack import BIN, Proc

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/0"
REPEATS = 5
TERMINAL = {"succeeded", "failed", "cancelled"}


def spec(epochs: int) -> dict[str, Any]:
    """The dropout article's circles model, seeded (a study's repeat 0 has seed 0)."""
    workload = WORKLOADS["circles_dropout"]
    compile_ = {"optimizer": "adam", "loss": "binary_crossentropy", "metrics": ["accuracy"]}
    fit = workload["fit"] | {"epochs": epochs, "seed": 0}
    return workload | {"compile": compile_, "fit": fit}


def timed(http: httpx.Client, route: str, body: dict[str, Any]) -> tuple[float, list[dict]]:
    """Seconds from the POST to the poll that saw every run finished, and the runs."""
    started = time.perf_counter()
    response = http.post(route, json=body)
    response.raise_for_status()
    created = response.json()
    ids = [created["id"]] if route == "/experiments" else [
        run["experiment_id"] for run in created["summary"][0]["per_run"]
    ]  # fmt: skip
    done: list[dict] = []
    for experiment_id in ids:
        while (run := http.get(f"/experiments/{experiment_id}").json())["status"] not in TERMINAL:
            time.sleep(0.05)
        done.append(run)
    seconds = time.perf_counter() - started
    failed = [run for run in done if run["status"] != "succeeded"]
    if failed:
        raise RuntimeError(f"runs did not succeed: {failed}")
    return seconds, done


def worker_seconds(done: list[dict]) -> float:
    """The worker's own time for the runs, as it records it: loading, building (the model and
    the program) and fitting; a pack's runs each record the whole pack's."""
    each = [sum(run["timings"][k] for k in ("load_seconds", "build_seconds", "fit_seconds"))
            for run in done]  # fmt: skip
    return max(each) if done[0]["trainer"].get("packed") else sum(each)


@contextmanager
def worker(config: StackConfig, pack_repeats: int) -> Iterator[Proc]:
    env = fitq_env(
        config, FITQ_KERAS_BACKEND="jax", KERAS_BACKEND="jax", FITQ_PACK_REPEATS=str(pack_repeats)
    )
    proc = Proc([str(BIN / "fitq"), "worker"], env, config.logs_dir / f"worker-{pack_repeats}.log")
    try:
        yield proc
    finally:
        proc.stop()


def side(config: StackConfig, http: httpx.Client, pack: int, rounds: int, epochs: int) -> dict:
    """{"one": [seconds...], "five": [...], "packed": how many of the last five were packed}."""
    seconds: dict[str, list[float]] = {"one": [], "five": [], "one_fit": [], "five_fit": []}
    study = {"base": spec(epochs), "repeats": REPEATS}
    runs = [("one", "/experiments", spec(epochs)), ("five", "/studies", study)]
    with worker(config, pack):
        for _, route, body in runs:  # not reported: the programs are compiled here
            timed(http, route, body)
        for index in range(rounds):
            for name, route, body in runs if index % 2 == 0 else reversed(runs):
                took, done = timed(http, route, body)
                seconds[name].append(took)
                seconds[f"{name}_fit"].append(worker_seconds(done))
                if name == "five":
                    packed = sum(run["trainer"].get("packed") is not None for run in done)
    return seconds | {"packed": packed}


def main(rounds: int, epochs: int) -> None:
    run_id = uuid.uuid4().hex[:10]
    work_dir = Path(tempfile.mkdtemp(prefix=f"fitq-bench-{run_id}-"))
    logs = ROOT / "var" / "bench" / f"packing-{run_id}-logs"
    logs.mkdir(parents=True, exist_ok=True)
    config = StackConfig(PG_ADMIN_URL, REDIS_URL, work_dir, logs, run_id)
    try:
        with temporary_database(config), api_process(config) as base_url:
            http = httpx.Client(base_url=base_url, timeout=60)
            try:
                figures = {pack: side(config, http, pack, rounds, epochs) for pack in (8, 1)}
            finally:
                forget_queues(config)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    print(f"circles_dropout, {epochs} epochs, medians of {rounds} rounds (wall s, POST to done):")
    for pack, found in figures.items():
        one, five, one_fit, five_fit = (
            statistics.median(found[k]) for k in ("one", "five", "one_fit", "five_fit")
        )
        print(
            f"  FITQ_PACK_REPEATS={pack}: one {one:.2f} s, five repeats {five:.2f} s "
            f"(x{five / one:.2f} of one; {found['packed']} of {REPEATS} packed); "
            f"the worker's load+build+fit: one {one_fit:.2f} s, five {five_fit:.2f} s"
        )
    packed, alone = (statistics.median(figures[p]["five"]) for p in (8, 1))
    print(f"  five packed / five one after another: x{packed / alone:.2f}; logs in {logs}")


if __name__ == "__main__":
    stop_on_sigterm()
    main(
        int(sys.argv[1]) if len(sys.argv) > 1 else 5,
        int(sys.argv[2]) if len(sys.argv) > 2 else 2000,
    )
