"""The benchmark from start to end: the synthetic IMDB file, the stack, then per backend a warm
worker and, per repeat and workload, the bare script, fitq and (circles on JAX) the limit one
after the other (the order reverses between repeats, so slow drift of a shared machine hits
every side alike); then, on JAX, a second warm worker with FITQ_TRAINER=fit for fitq's
submissions again (kind "fitq-fit"). One worker is up at a time."""

import shutil
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from bench import results
from bench.fitq_client import FitqClient
from bench.format import seconds_text
from bench.imdb_synth import write_imdb
from bench.meta import meta_line
from bench.runs import RunContext, bare_run, fitq_run, limit_run
from bench.stack import (
    Proc,
    StackConfig,
    api_process,
    forget_queues,
    temporary_database,
    worker_process,
)
from bench.workloads import IMDB_WORKLOADS, WARM_UP, WORKLOADS

console = Console(stderr=True)
WARM_UP_TIMEOUT = 900.0
# The kinds of run, as --sides names them; the first three share the default worker.
SIDES = ("bare", "fitq", "limit", "fitq-fit")
FIRST_BLOCK = ("bare", "fitq", "limit")
# The compiled trainer's backend: the limit and fitq-fit run on it only.
COMPILED_BACKEND = "jax"


@dataclass(frozen=True)
class Options:
    workloads: list[str]
    backends: list[str]
    repeats: int
    out: Path
    sides: list[str]
    epochs_override: int | None
    timeout_seconds: float
    pg_admin_url: str
    redis_url: str


def benchmark(options: Options) -> None:
    run_id = uuid.uuid4().hex[:10]
    work_dir = Path(tempfile.mkdtemp(prefix=f"fitq-bench-{run_id}-"))
    logs = options.out.with_name(options.out.stem + "-logs") / run_id
    logs.mkdir(parents=True, exist_ok=True)
    config = StackConfig(options.pg_admin_url, options.redis_url, work_dir, logs, run_id)
    ctx = RunContext(config, options.epochs_override, options.timeout_seconds)
    try:
        if set(IMDB_WORKLOADS) & set(options.workloads):
            console.print(f"writing the synthetic imdb.npz into {config.keras_datasets}")
            write_imdb(config.keras_datasets)
        with temporary_database(config) as postgres:
            fields = asdict(options) | {"out": str(options.out)}
            results.append(options.out, meta_line(config.run_id, fields, postgres))
            try:
                with api_process(config) as base_url:
                    client = FitqClient(base_url)
                    for backend in options.backends:
                        _backend(backend, options, ctx, client)
                    client.close()
            finally:
                forget_queues(config)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    console.print(f"results in {options.out}; logs in {logs}")


def _backend(backend: str, options: Options, ctx: RunContext, client: FitqClient) -> None:
    if set(FIRST_BLOCK) & set(options.sides):
        with worker_process(ctx.stack, backend) as worker:
            _warm_up(client, worker, backend)
            for repeat in range(options.repeats):
                for name in options.workloads:
                    for run in _first_block(name, backend, repeat, options, ctx, client, worker):
                        _record(options.out, run)
    if "fitq-fit" in options.sides and backend == COMPILED_BACKEND:
        with worker_process(ctx.stack, backend, trainer="fit") as worker:
            _warm_up(client, worker, backend, "FITQ_TRAINER=fit")
            for repeat in range(options.repeats):
                for name in options.workloads:
                    args = (WORKLOADS[name], backend, repeat, ctx, client, worker.alive)
                    _record(options.out, partial(fitq_run, *args, kind="fitq-fit"))


def _first_block(
    name: str,
    backend: str,
    repeat: int,
    options: Options,
    ctx: RunContext,
    client: FitqClient,
    worker: Proc,
) -> list[Callable[[], results.Line]]:
    """This repeat's runs of the workload on the default worker, in this repeat's order: bare,
    fitq, limit on even repeats, the reverse on odd ones. The limit only where the workload
    has one and on JAX (its program is JAX's)."""
    workload = WORKLOADS[name]
    args = (workload, backend, repeat, ctx)
    runs = {
        "bare": partial(bare_run, *args),
        "fitq": partial(fitq_run, *args, client, worker.alive),
    }
    if workload.limit_module is not None and backend == COMPILED_BACKEND:
        runs["limit"] = partial(limit_run, *args)
    order = [side for side in FIRST_BLOCK if side in runs and side in options.sides]
    return [runs[side] for side in (order if repeat % 2 == 0 else reversed(order))]


def _warm_up(client: FitqClient, worker: Proc, backend: str, settings: str = "") -> None:
    """One small job, never reported: the worker has imported Keras and fitted once."""
    what = f"{backend}, {settings}" if settings else backend
    console.print(escape(f"[{what}] warming up the worker"))
    outcome = client.run(WARM_UP, "warm-up", WARM_UP_TIMEOUT, worker.alive)
    status = outcome.experiments["warm-up"]["status"]
    if status != "succeeded":
        error = outcome.experiments["warm-up"].get("error")
        raise RuntimeError(f"the warm-up job {status}: {error}\n{worker.tail()}")


def _record(out: Path, run: Callable[[], results.Line]) -> None:
    line = run()
    results.append(out, line)
    what = escape(f"[{line['backend']}] {line['workload']} {line['kind']} #{line['repeat']}")
    if line["error"]:
        console.print(f"{what}: [red]failed[/] {escape(line['error'])}")
    else:
        fit = seconds_text(line.get("fit_seconds"))
        console.print(f"{what}: {seconds_text(line['wall_seconds'])} (fit {fit})")
