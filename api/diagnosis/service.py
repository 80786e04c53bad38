"""The diagnosis of a stored run, or of a study variant's mean curve over its repeats
(models/diagnosis.py holds the rules; this module only gathers what they need)."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, replace
from typing import Any

from sqlalchemy.orm import Session

from api.diagnosis.schemas import DiagnosisRead
from api.experiments.service import history
from models.diagnosis import diagnose
from models.diagnosis_advice import facts_from_spec
from models.diagnosis_types import Diagnosis
from models.tables import FINAL_STATUSES, Experiment, ExperimentStatus


def diagnose_experiment(experiment: Experiment, rows: Sequence[dict[str, Any]]) -> Diagnosis:
    facts = facts_from_spec(experiment.spec)
    if experiment.stopped_epoch is not None:
        # Early stopping already ended this run, so it is not advised as something new.
        facts = replace(facts, early_stopping=True)
    return diagnose(
        rows,
        epochs_total=experiment.epochs_total,
        finished=ExperimentStatus(experiment.status) in FINAL_STATUSES,
        facts=facts,
    )


def diagnosis_of(session: Session, experiment: Experiment) -> DiagnosisRead:
    """The diagnosis of an experiment's stored history, as GET /experiments/{id}/diagnosis
    answers it."""
    result = diagnose_experiment(experiment, history(session, experiment.id))
    return DiagnosisRead.model_validate(
        {"experiment_id": experiment.id, "status": experiment.status, **asdict(result)}
    )


def mean_history(histories: Sequence[Sequence[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Per epoch, each metric averaged over the runs that reached that epoch and logged a
    number (repeats stopped early still count for the epochs they ran)."""
    sums: dict[int, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for rows in histories:
        for row in rows:
            for key, value in row.items():
                if key != "epoch" and value is not None:
                    sums[row["epoch"]][key].append(float(value))
    return [
        {"epoch": epoch, **{k: sum(v) / len(v) for k, v in sums[epoch].items()}}
        for epoch in sorted(sums)
    ]
