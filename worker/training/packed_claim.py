"""Which queued repeats a worker trains with the job it has claimed, claimed in SQL like any
job: the study's other runs of the same variant whose specs differ only in fit.seed, still
queued and not cancelled, each claimed with its own attempt (lifecycle.claimed_values), so
every later write of each is fenced by its own attempt, its heartbeat goes stale on its own
if the worker dies, and the reconciler re-queues each like any job. Their messages stay in
the broker; whoever takes one later finds the job running and does nothing."""

import logging
import socket
from typing import Any, NamedTuple

from sqlalchemy import select, update

from broker.door import send_training
from models.db import session_scope
from models.tables import Experiment, utcnow
from worker.training import lifecycle

log = logging.getLogger(__name__)


class Member(NamedTuple):
    """One repeat of a pack: its experiment and its claim."""

    experiment_id: int
    claim: lifecycle.Claim


def training_part(spec: dict[str, Any]) -> dict[str, Any]:
    """What makes a fit the same fit up to its seed: all but the name, the tags and fit.seed."""
    fit = {k: v for k, v in spec["fit"].items() if k != "seed"}
    return {k: v for k, v in spec.items() if k not in ("name", "tags", "fit")} | {"fit": fit}


def claim_repeats(leader: int, spec: dict[str, Any], most: int) -> list[Member]:
    """Claim at most `most` queued repeats of `leader`'s variant (`spec` its spec), oldest
    first. Rows another worker is claiming right now are skipped, not waited for (FOR UPDATE
    SKIP LOCKED on PostgreSQL); the UPDATE's own condition keeps each claim single."""
    if most < 1:
        return []
    same = training_part(spec)
    with session_scope() as session:
        found = session.execute(
            select(Experiment.study_id, Experiment.variant).where(Experiment.id == leader)
        ).one_or_none()
        if found is None or found.study_id is None:
            return []
        queued = (
            Experiment.study_id == found.study_id,
            Experiment.variant == found.variant,
            Experiment.id != leader,
            Experiment.status == lifecycle.QUEUED,
            Experiment.cancel_requested.is_(False),
        )
        candidates = session.execute(
            select(Experiment.id, Experiment.spec)
            .where(*queued)
            .order_by(Experiment.id)
            .with_for_update(skip_locked=True)
        ).all()
        chosen = [row.id for row in candidates if training_part(row.spec) == same][:most]
        if not chosen:
            return []
        rows = session.execute(
            update(Experiment)
            .where(Experiment.id.in_(chosen), *queued)
            .values(**lifecycle.claimed_values(socket.gethostname(), utcnow()))
            .returning(
                Experiment.id, Experiment.spec, Experiment.attempts, Experiment.current_epoch
            )
        ).all()
    members = [
        Member(row.id, lifecycle.Claim(row.spec, row.attempts, row.current_epoch))
        for row in sorted(rows, key=lambda row: row.id)
    ]
    return [m for m in members if not lifecycle.gave_up(m.experiment_id, m.claim.attempt)]


def release(members: list[Member]) -> None:
    """Hand claimed repeats back, each to run alone: queued again without counting the
    attempt (lifecycle.requeue), and sent again (the messages they had may be spent); a send
    that fails is the reconciler's to redo."""
    for member in members:
        lifecycle.requeue(member.experiment_id, member.claim.attempt)
    resend([member.experiment_id for member in members])


def resend(experiment_ids: list[int]) -> None:
    """Send queued jobs' messages again, after a hand-back."""
    for experiment_id in experiment_ids:
        try:
            send_training(experiment_id)
        except Exception as exc:  # the broker is down: the reconciler sends it once back
            log.warning(
                "could not send experiment %s again (%s); the reconciler will",
                experiment_id,
                type(exc).__name__,
            )
