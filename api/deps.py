"""Typed dependencies, as Annotated aliases."""

from collections.abc import Iterator
from typing import Annotated, TypeVar

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


Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
T = TypeVar("T", Experiment, Dataset, Study)


def _found(session: Session, table: type[T], row_id: int, noun: str) -> T:
    row = session.get(table, row_id)
    if row is None:
        raise HTTPException(status_code=404, detail=f"{noun} {row_id} not found")
    return row


def get_experiment(session: SessionDep, experiment_id: Id) -> Experiment:
    return _found(session, Experiment, experiment_id, "experiment")


def get_dataset(session: SessionDep, dataset_id: Id) -> Dataset:
    return _found(session, Dataset, dataset_id, "dataset")


def get_study(session: SessionDep, study_id: Id) -> Study:
    return _found(session, Study, study_id, "study")


ExperimentDep = Annotated[Experiment, Depends(get_experiment)]
DatasetDep = Annotated[Dataset, Depends(get_dataset)]
StudyDep = Annotated[Study, Depends(get_study)]
