"""Live events of a running experiment, pushed to every watcher as its epochs land in SQL.

One `Watch` per watched experiment and API process reads what is new every
`POLL_SECONDS` and hands it to all of that experiment's watchers: one database read an
interval however many watch. Each API process polls on its own, so several processes are
correct without talking to each other; SQL stays the only source. A watcher first catches up
from the epoch it asks for (its `Last-Event-ID`), subscribed before it reads, so no epoch
falls between its catch-up and the shared reads; epochs it has sent already are skipped."""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

from fastapi.sse import ServerSentEvent
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from models.db import session_scope
from models.tables import FINAL_STATUSES, EpochMetric, Experiment

log = logging.getLogger(__name__)
POLL_SECONDS = 0.5


@dataclass(frozen=True)
class Snapshot:
    """What SQL holds of an experiment: its status and the epochs after a cursor. None for an
    experiment that is gone (deleted)."""

    status: str
    current_epoch: int
    epochs_total: int
    error: str | None
    rows: list[dict[str, Any]]

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES

    def state(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "current_epoch": self.current_epoch,
            "epochs_total": self.epochs_total,
            "error": self.error,
        }


def read_since(experiment_id: int, after_epoch: int) -> Snapshot | None:
    """The status first, then the epochs: a final status read here comes with every epoch
    its worker wrote before finishing."""
    with session_scope() as session:
        experiment = session.get(Experiment, experiment_id)
        if experiment is None:
            return None
        query = (
            select(EpochMetric.epoch, EpochMetric.metrics)
            .where(EpochMetric.experiment_id == experiment_id, EpochMetric.epoch > after_epoch)
            .order_by(EpochMetric.epoch)
        )
        rows = [{"epoch": epoch, **metrics} for epoch, metrics in session.execute(query)]
        return Snapshot(
            experiment.status,
            experiment.current_epoch,
            experiment.epochs_total,
            experiment.error,
            rows,
        )


@dataclass
class Watch:
    """One experiment's shared reads, while anyone watches it."""

    experiment_id: int
    cursor: int
    subscribers: set[asyncio.Queue[Snapshot | None]] = field(default_factory=set)
    task: asyncio.Task[None] | None = None

    async def poll(self) -> None:
        while True:
            await asyncio.sleep(POLL_SECONDS)
            try:
                snapshot = await run_in_threadpool(read_since, self.experiment_id, self.cursor)
            except Exception as exc:  # the database away: the watchers wait, pinged, and
                log.warning("events of experiment %s: %s", self.experiment_id, exc)
                continue  # the next read after it is back sends what they missed
            if snapshot is not None and snapshot.rows:
                self.cursor = snapshot.rows[-1]["epoch"]
            for queue in self.subscribers:
                queue.put_nowait(snapshot)
            if snapshot is None or snapshot.final:
                return


class EventHub:
    """The watches of one API process."""

    def __init__(self) -> None:
        self._watches: dict[int, Watch] = {}

    @asynccontextmanager
    async def subscribe(self, experiment_id: int, cursor: int) -> AsyncIterator[asyncio.Queue]:
        watch = self._watches.get(experiment_id)
        if watch is None or watch.task is None or watch.task.done():
            watch = Watch(experiment_id, cursor)
            watch.task = asyncio.create_task(watch.poll(), name=f"watch-{experiment_id}")
            self._watches[experiment_id] = watch
        queue: asyncio.Queue[Snapshot | None] = asyncio.Queue()
        watch.subscribers.add(queue)
        try:
            yield queue
        finally:
            watch.subscribers.discard(queue)
            if not watch.subscribers and self._watches.get(experiment_id) is watch:
                del self._watches[experiment_id]
                if watch.task is not None:
                    watch.task.cancel()
                    with suppress(asyncio.CancelledError):
                        await watch.task


async def experiment_events(
    hub: EventHub, experiment_id: int, after_epoch: int
) -> AsyncIterator[ServerSentEvent]:
    """`epoch` events (id: the epoch) after `after_epoch`, `status` events when the status
    changes, then one `end` event with the final state, and the stream ends."""
    async with hub.subscribe(experiment_id, cursor=after_epoch) as updates:
        snapshot = await run_in_threadpool(read_since, experiment_id, after_epoch)
        sent, status = after_epoch, None
        while True:
            if snapshot is None:
                yield ServerSentEvent(event="end", data={"status": "deleted"})
                return
            for row in snapshot.rows:
                if row["epoch"] > sent:
                    sent = row["epoch"]
                    yield ServerSentEvent(event="epoch", id=str(sent), data=row)
            if snapshot.status != status:
                status = snapshot.status
                yield ServerSentEvent(event="status", data=snapshot.state())
            if snapshot.final:
                yield ServerSentEvent(event="end", data=snapshot.state())
                return
            snapshot = await updates.get()
