"""What the event streams read from SQL: one experiment's status and its epochs after a
cursor, or a study's runs and their epochs after each run's cursor. The status is read
first, then the epochs: a final status read here comes with every epoch written before it."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, select

from api.studies.service import study_status
from models.db import session_scope
from models.tables import FINAL_STATUSES, EpochMetric, Experiment, Study

# A study's resume cursor: experiment id -> the last epoch sent of it (absent: none yet).
Cursor = dict[int, int]


@dataclass(frozen=True)
class RunState:
    """One experiment's status, as the `status` events send it."""

    experiment_id: int
    variant: str | None
    repeat: int | None
    status: str
    current_epoch: int
    epochs_total: int
    error: str | None

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES

    def experiment_data(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "current_epoch": self.current_epoch,
            "epochs_total": self.epochs_total,
            "error": self.error,
        }

    def study_data(self) -> dict[str, Any]:
        where = {"experiment_id": self.experiment_id, "variant": self.variant}
        return where | {"repeat": self.repeat} | self.experiment_data()


def _state(experiment: Experiment) -> RunState:
    return RunState(
        experiment.id, experiment.variant, experiment.repeat, experiment.status,
        experiment.current_epoch, experiment.epochs_total, experiment.error,
    )  # fmt: skip


@dataclass(frozen=True)
class ExperimentSnapshot:
    """An experiment's state and its epoch rows ({"epoch": 1, "loss": ...}) after a cursor."""

    run: RunState
    rows: list[dict[str, Any]]

    @property
    def final(self) -> bool:
        return self.run.final

    def advance(self, cursor: int) -> int:
        return self.rows[-1]["epoch"] if self.rows else cursor


def read_experiment(experiment_id: int, after_epoch: int) -> ExperimentSnapshot | None:
    """None for an experiment that is gone (deleted)."""
    with session_scope() as session:
        experiment = session.get(Experiment, experiment_id)
        if experiment is None:
            return None
        query = (
            select(EpochMetric.epoch, EpochMetric.metrics)
            .where(EpochMetric.experiment_id == experiment_id, EpochMetric.epoch > after_epoch)
            .order_by(EpochMetric.epoch)
        )
        rows = [{"epoch": epoch, **metrics} for epoch, metrics in session.execute(query)]
        return ExperimentSnapshot(_state(experiment), rows)


@dataclass(frozen=True)
class StudySnapshot:
    """A study's runs and their epoch rows after each run's cursor, rows tagged with
    "experiment_id" and ordered by run, then epoch."""

    runs: list[RunState]
    rows: list[dict[str, Any]]

    @property
    def final(self) -> bool:
        return all(run.final for run in self.runs)

    def advance(self, cursor: Cursor) -> Cursor:
        moved = dict(cursor)
        for row in self.rows:
            moved[row["experiment_id"]] = row["epoch"]
        return moved

    def end_data(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for run in self.runs:
            counts[run.status] = counts.get(run.status, 0) + 1
        return {"status": study_status(counts).value, "runs": counts}


def read_study(study_id: int, cursor: Cursor) -> StudySnapshot | None:
    """None for a study that is gone (deleted)."""
    with session_scope() as session:
        if session.get(Study, study_id) is None:
            return None
        experiments = list(
            session.scalars(
                select(Experiment).where(Experiment.study_id == study_id).order_by(Experiment.id)
            )
        )
        ids = [experiment.id for experiment in experiments]
        # One read for every run, each from its own cursor.
        after = case(cursor, value=EpochMetric.experiment_id, else_=0) if cursor else 0
        query = (
            select(EpochMetric.experiment_id, EpochMetric.epoch, EpochMetric.metrics)
            .where(EpochMetric.experiment_id.in_(ids), EpochMetric.epoch > after)
            .order_by(EpochMetric.experiment_id, EpochMetric.epoch)
        )
        rows = [
            {"experiment_id": experiment_id, "epoch": epoch, **metrics}
            for experiment_id, epoch, metrics in session.execute(query)
        ]
        return StudySnapshot([_state(e) for e in experiments], rows)
