"""Over- and underfitting of one experiment, read from its stored history (models/diagnosis.py
holds the rules; api/diagnosis/service.py gathers what they need)."""

from fastapi import APIRouter

from api.core.deps import ExperimentDep, SessionDep
from api.core.schemas import NOT_FOUND
from api.diagnosis import service
from api.diagnosis.schemas import DiagnosisRead

router = APIRouter(tags=["diagnosis"])


@router.get(
    "/experiments/{experiment_id}/diagnosis",
    response_model=DiagnosisRead,
    responses=NOT_FOUND,
    summary="Diagnose over- or underfitting, with remedies",
)
def get_experiment_diagnosis(experiment: ExperimentDep, session: SessionDep) -> DiagnosisRead:
    """The verdict (good_fit, overfitting from an epoch, underfitting, still_improving,
    diverged, insufficient_data), the best epoch, the generalization gaps at the best and the
    last epoch, the rule parameters applied and remedies that fit the model. Readable while
    the job runs (`finished: false`); an experiment without finished epochs is
    insufficient_data, not an error."""
    return service.diagnosis_of(session, experiment)
