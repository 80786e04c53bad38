"""One measured run as one result line: the bare script (kind "bare"), the limit script
(kind "limit": the bare model fitted by fitq's compiled program, no fitq around it), or
through fitq (kind "fitq", or "fitq-fit" on a worker started with FITQ_TRAINER=fit). A run
that fails becomes a line with `error` set, so the benchmark goes on and the report counts
it."""

import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from bench.bare.report import EPOCHS_VARIABLE
from bench.fitq_client import FitqClient, Outcome, parse_time, worker_figures
from bench.results import Line, last_json_line
from bench.stack import ROOT, StackConfig, child_env
from bench.workloads import Workload


@dataclass(frozen=True)
class RunContext:
    stack: StackConfig
    epochs_override: int | None
    timeout_seconds: float


def _line(kind: str, workload: Workload, backend: str, repeat: int, ctx: RunContext) -> Line:
    return {
        "type": "run",
        "run_id": ctx.stack.run_id,
        "kind": kind,
        "workload": workload.name,
        "backend": backend,
        "repeat": repeat,
        "epochs_override": ctx.epochs_override,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "loadavg_1m": os.getloadavg()[0],  # the machine is shared: how busy it was
        "error": None,
    }


def final_metrics(histories: dict[str, dict[str, list[Any]]]) -> dict[str, dict[str, float]]:
    """Each model's last recorded value of each metric."""
    return {
        model: {m: float(vs[-1]) for m, vs in history.items() if vs and vs[-1] is not None}
        for model, history in histories.items()
    }


def bare_run(workload: Workload, backend: str, repeat: int, ctx: RunContext) -> Line:
    """The bare script in a fresh process: wall time from spawn to exit, imports included."""
    return _script_run("bare", workload.bare_argv(), workload, backend, repeat, ctx)


def limit_run(workload: Workload, backend: str, repeat: int, ctx: RunContext) -> Line:
    """The workload's limit script in a fresh process, as bare_run runs the bare one; its
    line has the model's build_seconds and the program's compile_seconds besides
    (fit_seconds: build, compile and run)."""
    argv = workload.limit_argv()
    if argv is None:
        raise ValueError(f"the workload {workload.name} has no limit script")
    return _script_run("limit", argv, workload, backend, repeat, ctx)


def _script_run(
    kind: str, argv: list[str], workload: Workload, backend: str, repeat: int, ctx: RunContext
) -> Line:
    line = _line(kind, workload, backend, repeat, ctx)
    env = child_env(ctx.stack, KERAS_BACKEND=backend)
    if ctx.epochs_override is not None:
        env[EPOCHS_VARIABLE] = str(ctx.epochs_override)
    stem = ctx.stack.logs_dir / f"{kind}-{workload.name}-{backend}-{repeat}"
    out, err = stem.with_suffix(".out"), stem.with_suffix(".err")
    with out.open("wb") as stdout, err.open("wb") as stderr:
        start = time.perf_counter()
        try:
            code = subprocess.run(
                [sys.executable, *argv], cwd=ROOT, env=env,
                stdout=stdout, stderr=stderr, timeout=ctx.timeout_seconds,
            ).returncode  # fmt: skip
        except subprocess.TimeoutExpired:
            return line | {"error": f"timed out after {ctx.timeout_seconds:.0f} s"}
        line["wall_seconds"] = time.perf_counter() - start
    if code != 0:
        tail = err.read_text(errors="replace")[-1500:]
        return line | {"error": f"exit status {code}; see {err}:\n{tail}"}
    try:
        result = last_json_line(out.read_text(errors="replace"))
        figures = {key: result[key] for key in ("fit_seconds", "fit_seconds_by_model")}
    except (ValueError, KeyError) as exc:
        return line | {"error": f"no result line in {out}: {exc}"}
    return (
        line
        | figures
        | {
            "peak_rss_bytes": result.get("peak_rss_bytes"),
            "build_seconds": result.get("build_seconds"),
            "compile_seconds": result.get("compile_seconds"),
            "final": final_metrics(result.get("histories", {})),
            "histories": result.get("histories", {}),
        }
    )


def fitq_run(
    workload: Workload,
    backend: str,
    repeat: int,
    ctx: RunContext,
    client: FitqClient,
    alive: Callable[[], bool],
    kind: str = "fitq",
) -> Line:
    """POST, then poll until every experiment finished: wall time as a user of the API sees
    it; the worker's own figures when this fitq reports them. `kind`: "fitq-fit" where the
    worker runs with FITQ_TRAINER=fit."""
    line = _line(kind, workload, backend, repeat, ctx)
    submission = workload.submission(ctx.epochs_override, repeat)
    try:
        outcome = client.run(submission, workload.name, ctx.timeout_seconds, alive)
    except (RuntimeError, TimeoutError, httpx.HTTPError) as exc:
        return line | {"error": str(exc)}
    failed = [
        f"{name}: {e['status']}: {e.get('error')}"
        for name, e in outcome.experiments.items()
        if e["status"] != "succeeded"
    ]
    return line | {
        "error": "; ".join(failed) or None,
        "wall_seconds": outcome.wall_seconds,
        "first_epoch_seen_seconds": outcome.first_epoch_seen_seconds,
        "worker_span_seconds": _span(outcome),
        **worker_figures(list(outcome.experiments.values())),
        "experiment_ids": [e["id"] for e in outcome.experiments.values()],
        "final": final_metrics(outcome.histories),
        "histories": outcome.histories,
    }


def _span(outcome: Outcome) -> float | None:
    """Seconds from each experiment's claim to its end, summed: load, build, fit, writes."""
    spans = [
        (parse_time(e["finished_at"]) - parse_time(e["started_at"])).total_seconds()
        for e in outcome.experiments.values()
        if e.get("started_at") and e.get("finished_at")
    ]
    return sum(spans) if spans else None
