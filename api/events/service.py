"""The event streams of an experiment and of a study, over the hub's shared reads.

A watcher first catches up from where it asks (its Last-Event-ID), subscribed before it
reads; then it takes the shared snapshots, skipping epochs it has sent already."""

from collections.abc import AsyncIterator
from functools import partial

from fastapi.sse import ServerSentEvent
from starlette.concurrency import run_in_threadpool

from api.core.errors import ApiError
from api.events.hub import EventHub
from api.events.reads import Cursor, StudySnapshot, read_experiment, read_study

MAX_RUNS_IN_CURSOR = 2000


async def experiment_events(
    hub: EventHub, experiment_id: int, after_epoch: int
) -> AsyncIterator[ServerSentEvent]:
    """`epoch` events (id: the epoch) after `after_epoch`, `status` events when the status
    changes, then one `end` event with the final state, and the stream ends."""
    read = partial(read_experiment, experiment_id)
    async with hub.subscribe(("experiment", experiment_id), read, after_epoch) as updates:
        snapshot = await run_in_threadpool(read_experiment, experiment_id, after_epoch)
        sent, status = after_epoch, None
        while True:
            if snapshot is None:
                yield ServerSentEvent(event="end", data={"status": "deleted"})
                return
            for row in snapshot.rows:
                if row["epoch"] > sent:
                    sent = row["epoch"]
                    yield ServerSentEvent(event="epoch", id=str(sent), data=row)
            if snapshot.run.status != status:
                status = snapshot.run.status
                yield ServerSentEvent(event="status", data=snapshot.run.experiment_data())
            if snapshot.final:
                yield ServerSentEvent(event="end", data=snapshot.run.experiment_data())
                return
            snapshot = await updates.get()


async def study_events(
    hub: EventHub, study_id: int, after: Cursor
) -> AsyncIterator[ServerSentEvent]:
    """A `status` event per run (and again when it changes), an `epoch` event per recorded
    epoch of any run (data: the row with its experiment_id; id: the cursor of every run, see
    encode_cursor), then one `end` event when every run is final."""
    async with hub.subscribe(("study", study_id), partial(read_study, study_id), after) as updates:
        snapshot: StudySnapshot | None = await run_in_threadpool(read_study, study_id, after)
        sent, statuses = dict(after), dict[int, str]()
        while True:
            if snapshot is None:
                yield ServerSentEvent(event="end", data={"status": "deleted", "runs": {}})
                return
            for run in snapshot.runs:
                if statuses.get(run.experiment_id) != run.status:
                    statuses[run.experiment_id] = run.status
                    yield ServerSentEvent(event="status", data=run.study_data())
            for row in snapshot.rows:
                run_id, epoch = row["experiment_id"], row["epoch"]
                if epoch > sent.get(run_id, 0):
                    sent[run_id] = epoch
                    yield ServerSentEvent(event="epoch", id=encode_cursor(sent), data=row)
            if snapshot.final:
                yield ServerSentEvent(event="end", data=snapshot.end_data())
                return
            snapshot = await updates.get()


def encode_cursor(cursor: Cursor) -> str:
    """ "12:40,13:38": each run's last epoch sent, runs without one left out. A study's
    Last-Event-ID must say where every run was; about ten bytes a run."""
    return ",".join(f"{run}:{epoch}" for run, epoch in sorted(cursor.items()) if epoch > 0)


def decode_cursor(text: str | None) -> Cursor:
    if not text:
        return {}
    cursor: Cursor = {}
    try:
        for part in text.split(","):
            run, epoch = part.split(":")
            cursor[int(run)] = int(epoch)
    except ValueError:
        raise ApiError(
            422, "header.Last-Event-ID",
            "not a study event id: experiment:epoch pairs separated by commas, as the "
            "stream's events carry", "value_error",
        ) from None  # fmt: skip
    if len(cursor) > MAX_RUNS_IN_CURSOR or any(v < 0 or v > 2**31 for v in cursor.values()):
        raise ApiError(422, "header.Last-Event-ID", "out of range", "value_error")
    return cursor
