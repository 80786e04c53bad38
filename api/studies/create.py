"""POST /studies below the route: bound, expand, check, then one experiment per (variant,
repeat), all in the caller's transaction. It flushes, never commits; every id is enqueued
after the commit, so a rejected or rolled-back study leaves nothing stored or queued."""

from dataclasses import replace
from typing import Any

from fastapi.exceptions import RequestValidationError
from sqlalchemy.orm import Session

from api.studies.check import StudyCheckError, check_variants
from api.studies.expand import (
    ExpansionError,
    PlannedVariant,
    StudyInputError,
    VariantInput,
    expand,
    experiment_count,
)
from api.study_schemas import StudyCreate
from broker.door import enqueue_all
from models.settings import Settings
from models.spec import ExperimentSpec
from models.tables import Experiment, ExperimentStatus, Study

NAME_MAX = 200  # experiments.name


def definition_of(body: StudyCreate) -> dict[str, Any]:
    """The request as stored and as error paths are resolved against: the base as it was
    sent (exclude_unset), so overrides merge onto what the user wrote, not onto defaults
    of a dataset or layer the override may replace."""
    return {
        "name": body.name,
        "base": body.base.model_dump(mode="json", exclude_unset=True),
        "variants": None if body.variants is None else [v.model_dump() for v in body.variants],
        "grid": body.grid,
        "repeats": body.repeats,
    }


def create_study(session: Session, body: StudyCreate, settings: Settings, owner: str) -> Study:
    definition = definition_of(body)
    checked = _checked_variants(session, body, definition, settings, owner)
    study = Study(
        owner=owner, name=body.name or body.base.name, definition=definition, repeats=body.repeats
    )
    session.add(study)
    session.flush()
    label = study.name or f"study {study.id}"
    experiments = [
        _experiment(study, variant, repeat, spec, label, body.repeats)
        for variant, specs in checked
        for repeat, spec in enumerate(specs)
    ]
    session.add_all(experiments)
    session.flush()
    enqueue_all(session, [experiment.id for experiment in experiments])
    return study


def _checked_variants(
    session: Session,
    body: StudyCreate,
    definition: dict[str, Any],
    settings: Settings,
    owner: str,
) -> list[tuple[PlannedVariant, list[ExperimentSpec]]]:
    count = experiment_count(len(body.variants or []), body.grid, body.repeats)
    if count > settings.max_study_experiments:
        msg = (
            f"this study would create {count} experiments (variants x grid points x repeats); "
            f"at most {settings.max_study_experiments} are allowed (FITQ_MAX_STUDY_EXPERIMENTS)"
        )
        raise _invalid([StudyInputError((), msg, "too_many_experiments")], definition)
    variants = [VariantInput(v.name, v.override, v.set) for v in body.variants or []]
    errors: list[StudyInputError] = []
    try:
        planned = expand(definition["base"], variants or None, body.grid)
    except ExpansionError as problem:
        errors, planned = problem.errors, problem.planned
    try:
        checked = check_variants(session, planned, body.repeats, owner)
    except StudyCheckError as problem:
        errors += problem.errors
    if errors:
        raise _invalid(sorted(_grouped(errors), key=_request_order), definition)
    return checked


def _grouped(errors: list[StudyInputError]) -> list[StudyInputError]:
    """One error per place and problem, naming every variant that has it."""
    merged: dict[tuple[Any, ...], StudyInputError] = {}
    for error in errors:
        key = (error.loc, error.type, error.msg)
        known = merged.get(key)
        merged[key] = (
            error if known is None else replace(known, variants=known.variants + error.variants)
        )
    return list(merged.values())


def _request_order(error: StudyInputError) -> tuple[int, int]:
    """Errors in the order of the request: the base, each variant, then the grid."""
    match error.loc:
        case ("variants", int(index), *_):
            return (1, index)
        case ("grid", *_):
            return (2, 0)
    return (0, 0)


def _invalid(errors: list[StudyInputError], body: dict[str, Any]) -> RequestValidationError:
    """The same 422 body as any invalid request (api/core/errors.py turns loc into `path`)."""
    detail = [{"loc": ("body", *e.loc), "msg": e.message, "type": e.type} for e in errors]
    return RequestValidationError(detail, body=body)


def _experiment(
    study: Study,
    variant: PlannedVariant,
    repeat: int,
    spec: ExperimentSpec,
    label: str,
    repeats: int,
) -> Experiment:
    # Named after the study, so a run reads well in GET /experiments among other runs.
    name = f"{label}: {variant.name}" + (f" (repeat {repeat})" if repeats > 1 else "")
    spec = spec.model_copy(update={"name": name[:NAME_MAX]})
    return Experiment(
        owner=study.owner,  # a study's runs are its owner's
        name=spec.name,
        tags=list(spec.tags),
        spec=spec.model_dump(mode="json"),
        status=ExperimentStatus.QUEUED.value,
        epochs_total=spec.fit.epochs,
        study_id=study.id,
        variant=variant.name,
        repeat=repeat,
        grid_values=variant.grid_values,
    )
