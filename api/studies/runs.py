"""Reads shared by the study summary, the study plots and the diagnosis: a study's runs
grouped by variant, each with its per-epoch history, in two queries."""

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.tables import EpochMetric, Experiment


@dataclass(frozen=True)
class Run:
    """One experiment of a study and its history rows ({"epoch": 1, "loss": ...})."""

    experiment: Experiment
    history: list[dict[str, Any]]


def histories(session: Session, experiment_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Per-epoch rows of several experiments in one query, each ordered by epoch."""
    rows: dict[int, list[dict[str, Any]]] = {i: [] for i in experiment_ids}
    if not experiment_ids:
        return rows
    query = (
        select(EpochMetric.experiment_id, EpochMetric.epoch, EpochMetric.metrics)
        .where(EpochMetric.experiment_id.in_(experiment_ids))
        .order_by(EpochMetric.experiment_id, EpochMetric.epoch)
    )
    for experiment_id, epoch, metrics in session.execute(query):
        rows[experiment_id].append({"epoch": epoch, **metrics})
    return rows


def runs_by_variant(session: Session, study_id: int) -> dict[str, list[Run]]:
    """Variant name -> its runs ordered by repeat, variants in the order they were created."""
    experiments = list(
        session.scalars(
            select(Experiment).where(Experiment.study_id == study_id).order_by(Experiment.id)
        )
    )
    by_id = histories(session, [e.id for e in experiments])
    grouped: dict[str, list[Run]] = defaultdict(list)
    for experiment in experiments:
        grouped[experiment.variant or "base"].append(Run(experiment, by_id[experiment.id]))
    return dict(grouped)
