"""Study reads and the study cancel. They flush, never commit: the edge commits."""

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from api.core.list_filters import has_tag, name_contains
from api.studies.summary import summarize
from api.study_queries import runs_by_variant
from api.study_schemas import StudyBrief, StudyRead, StudyStatus
from models.tables import Experiment, ExperimentStatus, Study, utcnow

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
