"""Typed dependencies, as Annotated aliases."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Path
from sqlalchemy.orm import Session

from models.db import get_sessionmaker
from models.settings import Settings, get_settings
from models.tables import Dataset, Experiment, Study


def get_session() -> Iterator[Session]:
    """The request's transaction edge: commit when the route returns, roll back if it raises."""
    session = get_sessionmaker()()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# scope="function" commits before the response is sent, so a client that gets 201 can read
# what it created, and after-commit actions (enqueueing) run before the reply.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_experiment(
    session: SessionDep, experiment_id: Annotated[int, Path(ge=1, le=2**31 - 1)]
) -> Experiment:
    experiment = session.get(Experiment, experiment_id)
    if experiment is None:
        raise HTTPException(status_code=404, detail=f"experiment {experiment_id} not found")
    return experiment


ExperimentDep = Annotated[Experiment, Depends(get_experiment)]


def get_dataset(
    session: SessionDep, dataset_id: Annotated[int, Path(ge=1, le=2**31 - 1)]
) -> Dataset:
    dataset = session.get(Dataset, dataset_id)
    if dataset is None:
        raise HTTPException(status_code=404, detail=f"dataset {dataset_id} not found")
    return dataset


DatasetDep = Annotated[Dataset, Depends(get_dataset)]


def get_study(session: SessionDep, study_id: Annotated[int, Path(ge=1, le=2**31 - 1)]) -> Study:
    study = session.get(Study, study_id)
    if study is None:
        raise HTTPException(status_code=404, detail=f"study {study_id} not found")
    return study


StudyDep = Annotated[Study, Depends(get_study)]
