"""Studies below the routes: create (bound, expand, check, then one experiment per variant
and repeat), create from a recipe, read, list and cancel. They flush, never commit: the
request's session is the edge, and every id is enqueued after the commit, so a rejected or
rolled-back study leaves nothing stored or queued."""

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from fastapi.exceptions import RequestValidationError
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from api.core import csv_export
from api.core.list_filters import has_tag, name_contains
from api.core.schemas import RunUpdate
from api.experiments.service import (
    artifacts_to_remove,
    check_dataset,
    dataset_input_shape,
    owned_dataset,
    refuse_running,
)
from api.studies import recipes
from api.studies.check import StudyCheckError, check_variants
from api.studies.expand import (
    ExpansionError,
    PlannedVariant,
    StudyInputError,
    VariantInput,
    expand,
    experiment_count,
)
from api.studies.heads import TaskError, task_of
from api.studies.runs import runs_by_variant
from api.studies.schemas import RecipeApply, StudyBrief, StudyCreate, StudyRead, StudyStatus
from api.studies.summary import summarize
from broker.door import enqueue_all
from models.settings import Settings
from models.spec import ExperimentSpec
from models.spec_datasets import UploadedDataset
from models.tables import EpochMetric, Experiment, ExperimentStatus, Study, utcnow

S = ExperimentStatus


def study_status(counts: Mapping[str, int]) -> StudyStatus:
    """The study's status from its runs' statuses (see StudyBrief.status)."""
    total = sum(counts.values())
    waiting = counts.get(S.QUEUED, 0)
    if waiting == total:
        return StudyStatus.QUEUED
    if waiting + counts.get(S.RUNNING, 0) > 0:
        return StudyStatus.RUNNING
    succeeded, failed = counts.get(S.SUCCEEDED, 0), counts.get(S.FAILED, 0)
    if succeeded == total:
        return StudyStatus.SUCCEEDED
    if failed:
        return StudyStatus.PARTIALLY_FAILED if succeeded else StudyStatus.FAILED
    return StudyStatus.CANCELLED


@dataclass
class _Runs:
    counts: Counter[str] = field(default_factory=Counter)
    variants: list[str] = field(default_factory=list)


def _runs_of(session: Session, study_ids: Sequence[int]) -> dict[int, _Runs]:
    """Status counts and variant names (in creation order) of several studies, one query."""
    found: dict[int, _Runs] = defaultdict(_Runs)
    if not study_ids:
        return found
    rows = session.execute(
        select(Experiment.study_id, Experiment.variant, Experiment.status, func.count())
        .where(Experiment.study_id.in_(study_ids))
        .group_by(Experiment.study_id, Experiment.variant, Experiment.status)
        .order_by(func.min(Experiment.id))
    )
    for study_id, variant, status, count in rows:
        if study_id is None:  # excluded by the WHERE (most experiments belong to no study)
            continue
        runs = found[study_id]
        runs.counts[status] += count
        if (variant or "base") not in runs.variants:
            runs.variants.append(variant or "base")
    return found


def brief(study: Study, counts: Mapping[str, int], variants: list[str]) -> StudyBrief:
    return StudyBrief(
        id=study.id,
        name=study.name,
        notes=study.notes,
        repeats=study.repeats,
        created_at=study.created_at,
        status=study_status(counts),
        experiments=sum(counts.values()),
        counts={status: counts.get(status, 0) for status in ExperimentStatus},
        variants=variants,
    )


def list_page(
    session: Session,
    owner: str,
    limit: int,
    offset: int,
    tags: Sequence[str] = (),
    name: str | None = None,
) -> tuple[list[StudyBrief], int]:
    """Filtered by name (contains, any case) and by tags its runs carry (the base's tags)."""
    conditions = [Study.owner == owner]
    dialect = session.get_bind().dialect.name
    for tag in tags:
        tagged = select(Experiment.id).where(
            Experiment.study_id == Study.id, has_tag(Experiment.tags, tag, dialect)
        )
        conditions.append(tagged.exists())
    if name is not None:
        conditions.append(name_contains(Study.name, name))
    query = select(Study).where(*conditions).order_by(Study.id.desc())
    studies = list(session.scalars(query.limit(limit).offset(offset)))
    runs = _runs_of(session, [s.id for s in studies])
    items = [brief(s, runs[s.id].counts, runs[s.id].variants) for s in studies]
    count = select(func.count()).select_from(Study).where(*conditions)
    return items, session.scalar(count) or 0


def read_one(session: Session, study: Study) -> StudyRead:
    by_variant = runs_by_variant(session, study.id)
    counts = Counter(run.experiment.status for runs in by_variant.values() for run in runs)
    head = brief(study, counts, list(by_variant))
    return StudyRead(
        **head.model_dump(), definition=study.definition, summary=summarize(by_variant)
    )


def request_cancel(session: Session, study: Study) -> int:
    """api.experiments.service.request_cancel for all of a study's runs at once: queued ones
    are cancelled now, running ones flagged for their worker; both updates are conditional,
    so a worker claiming a run at the same moment cannot slip past. Returns the runs touched."""
    cancelled = session.execute(
        update(Experiment)
        .where(Experiment.study_id == study.id, Experiment.status == S.QUEUED.value)
        .values(status=S.CANCELLED.value, cancel_requested=True, finished_at=utcnow())
    )
    flagged = session.execute(
        update(Experiment)
        .where(Experiment.study_id == study.id, Experiment.status == S.RUNNING.value)
        .values(cancel_requested=True)
    )
    session.flush()
    session.expire_all()  # the summary must read the new statuses, not the identity map's
    return int(cancelled.rowcount + flagged.rowcount)  # type: ignore[attr-defined]


# POST /studies below the route: bound, expand, check, then one experiment per (variant,
# repeat), all in the caller's transaction. It flushes, never commits; every id is enqueued
# after the commit, so a rejected or rolled-back study leaves nothing stored or queued.

NAME_MAX = 200  # experiments.name


def history_csv(session: Session, study: Study) -> str:
    """Every run's epochs as one CSV: experiment_id, variant, repeat, epoch, then every metric
    any run recorded."""
    runs = {
        e.id: (e.variant or "base", e.repeat)
        for e in session.scalars(select(Experiment).where(Experiment.study_id == study.id))
    }
    query = (
        select(EpochMetric.experiment_id, EpochMetric.epoch, EpochMetric.metrics)
        .where(EpochMetric.experiment_id.in_(runs))
        .order_by(EpochMetric.experiment_id, EpochMetric.epoch)
    )
    rows = (((run, *runs[run], epoch), metrics) for run, epoch, metrics in session.execute(query))
    return csv_export.history_csv(["experiment_id", "variant", "repeat", "epoch"], rows)


def update_study(session: Session, study: Study, change: RunUpdate) -> None:
    """Name and notes are the study's; its tags are those its runs carry (what the list's tag
    filter reads), so new tags are set on every run."""
    for name in change.model_fields_set - {"tags"}:
        setattr(study, name, getattr(change, name))
    if "tags" in change.model_fields_set:
        session.execute(
            update(Experiment).where(Experiment.study_id == study.id).values(tags=change.tags)
        )
    session.flush()


def delete_study(session: Session, study: Study) -> None:
    """The study and its runs with their histories and artifacts; refused while a run is
    running. Its runs are deleted by id, not left to the foreign key's cascade, which SQLite
    does not apply (fitq leaves its foreign_keys pragma off)."""
    runs = list(session.scalars(select(Experiment).where(Experiment.study_id == study.id)))
    refuse_running(runs)
    artifacts_to_remove(session, [run.id for run in runs])
    session.execute(delete(Experiment).where(Experiment.study_id == study.id))
    session.delete(study)
    session.flush()


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


def create_recipe_study(
    session: Session, name: str, body: RecipeApply, settings: Settings, owner: str
) -> Study:
    """The recipe `name` (a known one) made into a study request for the dataset, then
    created as POST /studies creates one."""
    request = StudyCreate.model_validate(_recipe_request(session, name, body, owner))
    return create_study(session, request, settings, owner)


def _recipe_request(session: Session, name: str, body: RecipeApply, owner: str) -> dict[str, Any]:
    check_dataset(session, body.dataset, owner)  # an upload that is not the owner's: 422
    stored = (
        owned_dataset(session, body.dataset.dataset_id, owner)
        if isinstance(body.dataset, UploadedDataset)
        else None
    )
    try:
        task = task_of(body.dataset, stored)
        frame = recipes.frame_for(body, task, dataset_input_shape(session, body.dataset, owner))
    except TaskError as problem:
        error = {"type": "recipe_unfit", "loc": ("body", "dataset"), "msg": str(problem)}
        raise RequestValidationError([error], body=body.model_dump(mode="json")) from None
    return recipes.study_request(name, body, frame, None if stored is None else stored.rows)
