"""A study's numbers per variant: each run's best epoch and final metrics, then their mean
and standard deviation over the repeats. Pure functions on history rows
({"epoch": 1, "loss": ..., "val_loss": ...}), apart from `summarize`'s reading of Runs."""

import statistics
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from api.diagnosis.service import diagnose_experiment, mean_history
from api.studies.runs import Run
from api.studies.schemas import Metrics, RunSummary, Stat, VariantSummary
from models.tables import FINAL_STATUSES, ExperimentStatus

Row = dict[str, Any]
VALIDATION_PREFIX = "val_"


def monitor_of(history: Sequence[Row]) -> str | None:
    """What "best" minimizes: val_loss when the run validated, else the training loss."""
    for name in ("val_loss", "loss"):
        if any(row.get(name) is not None for row in history):
            return name
    return None


def best_row(history: Sequence[Row], monitor: str | None) -> Row | None:
    """The epoch with the lowest monitored value; the earliest one on a tie. Epochs whose
    value was not finite (stored as null) never win."""
    if monitor is None:
        return None
    rows = [row for row in history if row.get(monitor) is not None]
    return min(rows, key=lambda row: (row[monitor], row["epoch"])) if rows else None


def split(row: Row | None) -> tuple[Metrics, Metrics]:
    """A row's training metrics and its validation (val_*) metrics."""
    if row is None:
        return {}, {}
    metrics = {k: v for k, v in row.items() if k != "epoch"}
    train = {k: v for k, v in metrics.items() if not k.startswith(VALIDATION_PREFIX)}
    validation = {k: v for k, v in metrics.items() if k.startswith(VALIDATION_PREFIX)}
    return train, validation


def run_summary(
    experiment_id: int, repeat: int, status: ExperimentStatus, history: Sequence[Row]
) -> RunSummary:
    monitor = monitor_of(history)
    best = best_row(history, monitor)
    best_train, best_validation = split(best)
    final_train, final_validation = split(history[-1] if history else None)
    return RunSummary(
        experiment_id=experiment_id,
        repeat=repeat,
        status=status,
        epochs=max((row["epoch"] for row in history), default=0),
        monitor=monitor,
        best_epoch=None if best is None else best["epoch"],
        at_best=best_validation if monitor == "val_loss" else best_train,
        final_train=final_train,
        final_validation=final_validation,
    )


def stat(values: Sequence[float | None]) -> Stat:
    """Mean and sample standard deviation (n - 1: the repeats are a sample of the runs the
    variant could have had); null values (non-finite metrics) are left out."""
    numbers = [float(v) for v in values if v is not None]
    if not numbers:
        return Stat(mean=None, std=None, n=0)
    std = statistics.stdev(numbers) if len(numbers) > 1 else None
    return Stat(mean=statistics.fmean(numbers), std=std, n=len(numbers))


def stats_by_name(metrics: Sequence[Metrics]) -> dict[str, Stat]:
    names = sorted({name for one in metrics for name in one})
    return {name: stat([one.get(name) for one in metrics]) for name in names}


def aggregate(
    variant: str, grid_values: dict[str, Any] | None, runs: list[RunSummary]
) -> VariantSummary:
    """The variant's numbers over its succeeded runs only: a failed, cancelled or unfinished
    run would mix a shorter curve into the mean. Each run's own numbers are in per_run."""
    done = [run for run in runs if run.status == ExperimentStatus.SUCCEEDED]
    with_best = [run for run in done if run.best_epoch is not None]
    return VariantSummary(
        variant=variant,
        grid_values=grid_values,
        runs=len(runs),
        finished=sum(run.status in FINAL_STATUSES for run in runs),
        succeeded=len(done),
        monitor=next((run.monitor for run in with_best), None),
        best_epoch=stat([run.best_epoch for run in with_best]) if with_best else None,
        at_best=stats_by_name([run.at_best for run in done]),
        final_train=stats_by_name([run.final_train for run in done]),
        final_validation=stats_by_name([run.final_validation for run in done]),
        per_run=runs,
    )


def variant_diagnosis(runs: Sequence[Run]) -> dict[str, Any] | None:
    """The diagnosis of the variant's mean curve over its repeats (see
    api/diagnosis/service.py), as the experiment diagnosis reads it; None before any of its
    runs finished an epoch."""
    histories = [run.history for run in runs if run.history]
    if not histories:
        return None
    unfinished = [
        run for run in runs if ExperimentStatus(run.experiment.status) not in FINAL_STATUSES
    ]
    representative = (unfinished or list(runs))[0].experiment
    return asdict(diagnose_experiment(representative, mean_history(histories)))


def summarize(by_variant: dict[str, list[Run]]) -> list[VariantSummary]:
    """api.studies.runs.runs_by_variant's result -> one summary per variant, in order."""
    summaries = []
    for variant, runs in by_variant.items():
        per_run = [
            run_summary(
                run.experiment.id,
                run.experiment.repeat or 0,
                ExperimentStatus(run.experiment.status),
                run.history,
            )
            for run in runs
        ]
        grid_values = runs[0].experiment.grid_values if runs else None
        summary = aggregate(variant, grid_values, per_run)
        summary.diagnosis = variant_diagnosis(runs)
        summaries.append(summary)
    return summaries
