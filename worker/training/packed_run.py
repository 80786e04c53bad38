"""A study's repeats of one variant trained as one pack, each still its own experiment: the
job a worker claimed and its queued repeats (packed_claim.py) load the data once, build a
model each from their own seed (resumed from their own checkpoint), and train as one
vectorised program (compiled/packed_trainer.py); each repeat writes its own history, hears
its own cancel, checkpoints, and ends with its own final model and status as it stops, as
run.py ends a job alone (docs/compiled-trainer.md, "Packed repeats").

What the pack does not take runs alone as before: a job outside a study or without repeats
waiting, another backend or trainer, a dataset drawn per run, word-index input, data over
FITQ_COMPILED_MAX_DATA_BYTES, a program that cannot be built (the repeats are then handed
back, each to run alone)."""

import logging
import time
from dataclasses import dataclass
from functools import partial

import keras

from models.settings import Settings
from models.spec import ExperimentSpec
from models.tables import ExperimentStatus
from worker import metrics
from worker.training import epoch_store, lifecycle
from worker.training.build import build_model
from worker.training.compiled.packed_trainer import PackedFit
from worker.training.compiled.trainer import Job
from worker.training.data import LoadedData, drawn_per_run, load_dataset
from worker.training.fit_end import FitEnd
from worker.training.packed_claim import Member, claim_repeats, release, resend
from worker.training.run import (
    Fitted,
    Outcome,
    Stopwatch,
    checkpointer_for,
    conclude,
    drop_checkpoints_unless_kept,
    evaluate_test_split,
    max_rss_bytes,
    readable_error,
    resume_from_checkpoint,
    running_on_cpu,
    seed_everything,
    shaped_for_model,
)
from worker.training.sparse_input import input_encoding
from worker.training.trainers import TrainerRecord, fallback_reason
from worker.training.validation_split import split_validation
from worker.training.versions import versions

log = logging.getLogger(__name__)


@dataclass
class Pack:
    """Repeats ready to train: the claimed job first, then its repeats."""

    members: list[Member]
    specs: list[ExperimentSpec]
    models: list[keras.Model]
    data: LoadedData
    fit: PackedFit
    starts: list[int]  # each repeat's epoch to continue from (its checkpoint's)
    timings: dict[str, float]


def run_packed(experiment_id: int, claimed: lifecycle.Claim, settings: Settings) -> Outcome | None:
    """Train the claimed job with its queued repeats as one pack; the job's outcome, or None
    when it is not packed (it then runs alone, as before)."""
    spec = ExperimentSpec.model_validate(claimed.spec)
    if not packable(spec, settings):
        return None
    repeats = claim_repeats(experiment_id, claimed.spec, settings.pack_repeats - 1)
    if not repeats:
        return None
    members = [Member(experiment_id, claimed), *repeats]
    ids = [member.experiment_id for member in members]
    try:
        pack = _prepare(members, settings)
    except Exception:
        log.warning(
            "experiments %s could not train as one pack; each runs alone", ids, exc_info=True
        )
        pack = None
    if pack is None:
        release(repeats)
        return None
    log.info("experiments %s train as one pack (experiment %s's task)", sorted(ids), experiment_id)
    outcomes = _train(pack, settings)
    for outcome in outcomes[1:]:  # the task's own job is counted by its task (worker/tasks.py)
        metrics.job_ended(outcome.value)
    handed_back = zip(ids[1:], outcomes[1:], strict=True)
    resend([i for i, outcome in handed_back if outcome == Outcome.HANDED_BACK])
    return outcomes[0]


def packable(spec: ExperimentSpec, settings: Settings) -> bool:
    """What can be known before claiming any repeat: packing is on, the worker runs the
    compiled trainer on JAX, and every repeat trains on the same dense rows."""
    backend = keras.backend.backend()
    return (
        settings.pack_repeats > 1
        and settings.trainer == "auto"
        and backend == "jax"
        and spec.fit.seed is not None
        and not drawn_per_run(spec.dataset)
        and input_encoding(spec, backend, on_cpu=running_on_cpu()) == "dense"
    )


def _prepare(members: list[Member], settings: Settings) -> Pack | None:
    """Data once, a model per repeat from its own seed and checkpoint, and the program; None
    when a repeat has no seed or the data is over the compiled trainer's limit."""
    specs = [ExperimentSpec.model_validate(member.claim.spec) for member in members]
    seeds = [spec.fit.seed for spec in specs if spec.fit.seed is not None]
    if len(seeds) < len(specs):  # an unseeded run draws its own key: not a repeat
        return None
    for member in members:
        lifecycle.record_versions(member.experiment_id, member.claim.attempt, versions())
    clock = Stopwatch()
    data = load_dataset(specs[0].dataset)
    load_seconds = clock.lap()
    if fallback_reason(settings, "jax", data) is not None:
        return None
    models = []
    for spec in specs:
        seed_everything(spec.fit.seed)  # each repeat's weights and dropout masks, as alone
        models.append(build_model(spec, data.input_shape))
    data = shaped_for_model(models[0], specs[0], data)
    starts = [
        resume_from_checkpoint(member.experiment_id, member.claim, model, spec)
        for member, model, spec in zip(members, models, specs, strict=True)
    ]
    train, validation = (data.x_train, data.y_train), data.validation
    if validation is None and specs[0].fit.validation_split:
        train, validation = split_validation(*train, specs[0].fit.validation_split)
    fit = PackedFit(models, specs[0], seeds, train, validation)
    fit.prepare()
    timings = {"load_seconds": round(load_seconds, 4), "build_seconds": round(clock.lap(), 4)}
    return Pack(members, specs, models, data, fit, starts, timings)


def _train(pack: Pack, settings: Settings) -> list[Outcome]:
    """Every repeat's fit to its end; how each ended, in the pack's order."""
    ready = pack.fit.ready
    assert ready is not None
    ids = [member.experiment_id for member in pack.members]
    record = TrainerRecord(
        "compiled", round(ready.compile_seconds, 4), ready.source, packed=sorted(ids)
    )
    for member in pack.members:
        lifecycle.record_trainer(member.experiment_id, member.claim.attempt, record.as_json())
    jobs = [
        _job(member, spec, settings) for member, spec in zip(pack.members, pack.specs, strict=True)
    ]
    outcomes: dict[int, Outcome] = {}
    started = time.perf_counter()

    def on_end(index: int, end: FitEnd) -> None:
        fit_seconds = time.perf_counter() - started
        metrics.fit_ended("packed", fit_seconds)
        outcomes[index] = _end(pack, index, end, record, fit_seconds, settings)

    try:
        pack.fit.run(pack.starts, jobs, on_end)
    except Exception as exc:
        log.exception("the pack of experiments %s failed", ids)
        for index, member in enumerate(pack.members):
            if index not in outcomes:
                outcomes[index] = _failed(member, exc, settings)
    return [outcomes[index] for index in range(len(pack.members))]


def _job(member: Member, spec: ExperimentSpec, settings: Settings) -> Job:
    """What the host does for this repeat between chunks, as trainers.py's for a job alone."""
    experiment_id, attempt = member.experiment_id, member.claim.attempt
    checkpointer = checkpointer_for(experiment_id, spec, settings)
    return Job(
        name=str(experiment_id),
        write=partial(epoch_store.write_epochs, experiment_id, attempt),
        beat=partial(epoch_store.heartbeat, experiment_id, attempt),
        flush_seconds=settings.history_flush_seconds,
        check_seconds=settings.cancel_check_seconds,
        checkpointer=checkpointer,
    )


def _end(
    pack: Pack,
    index: int,
    end: FitEnd,
    record: TrainerRecord,
    fit_seconds: float,
    settings: Settings,
) -> Outcome:
    """One repeat's end while the others go on: its test evaluation, final model and status."""
    member, spec, model = pack.members[index], pack.specs[index], pack.models[index]
    timings = pack.timings | {
        "fit_seconds": round(fit_seconds, 4),
        "recording_seconds": round(end.recording_seconds, 4),
        "first_epoch_at": None if end.first_epoch_at is None else end.first_epoch_at.isoformat(),
        "max_rss_bytes": max_rss_bytes(),
    }
    try:
        if pack.data.test is not None and end.stop_reason is None:
            evaluate_test_split(member.experiment_id, model, pack.data.test, spec.fit.batch_size)
        fitted = Fitted(end, model, timings, record)
        return conclude(
            member.experiment_id, member.claim.attempt, member.claim.spec, fitted, settings
        )
    except Exception as exc:
        log.exception("experiment %s failed at its end", member.experiment_id)
        return _failed(member, exc, settings)


def _failed(member: Member, exc: Exception, settings: Settings) -> Outcome:
    lifecycle.finish(
        member.experiment_id,
        ExperimentStatus.FAILED,
        readable_error(exc, settings.max_error_chars),
        attempt=member.claim.attempt,
        backend=keras.backend.backend(),
    )
    drop_checkpoints_unless_kept(member.experiment_id, settings)
    return Outcome.FAILED
