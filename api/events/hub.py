"""Shared reads for everyone watching the same thing in one API process.

One `Watch` per watched experiment or study reads what is new every `POLL_SECONDS` and hands
it to all its watchers: one database read an interval however many watch. Each API process
polls on its own, so several processes are correct without talking to each other; SQL stays
the only source (docs/plots-and-diagnosis.md, "Live events")."""

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Hashable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from starlette.concurrency import run_in_threadpool

log = logging.getLogger(__name__)
POLL_SECONDS = 0.5

C = TypeVar("C")


class Snapshot(Protocol[C]):
    @property
    def final(self) -> bool: ...

    def advance(self, cursor: C) -> C: ...


@dataclass
class Watch(Generic[C]):
    """One subject's shared reads, while anyone watches it."""

    name: str
    read: Callable[[C], Snapshot[C] | None]  # blocking: run in the thread pool
    cursor: C
    subscribers: set[asyncio.Queue[Any]] = field(default_factory=set)
    task: asyncio.Task[None] | None = None

    async def poll(self) -> None:
        while True:
            await asyncio.sleep(POLL_SECONDS)
            try:
                snapshot = await run_in_threadpool(self.read, self.cursor)
            except Exception as exc:  # the database away: the watchers wait, pinged, and
                log.warning("events of %s: %s", self.name, exc)
                continue  # the next read after it is back sends what they missed
            if snapshot is not None:
                self.cursor = snapshot.advance(self.cursor)
            for queue in self.subscribers:
                queue.put_nowait(snapshot)
            if snapshot is None or snapshot.final:
                return


class EventHub:
    """The watches of one API process, by subject (("experiment", 12), ("study", 3))."""

    def __init__(self) -> None:
        self._watches: dict[Hashable, Watch[Any]] = {}

    @asynccontextmanager
    async def subscribe(
        self, subject: Hashable, read: Callable[[C], Snapshot[C] | None], cursor: C
    ) -> AsyncIterator[asyncio.Queue[Any]]:
        """A queue of the shared snapshots from now on. Subscribe before reading your own
        catch-up: then no write falls between the catch-up and the shared reads."""
        watch = self._watches.get(subject)
        if watch is None or watch.task is None or watch.task.done():
            watch = Watch(str(subject), read, cursor)
            watch.task = asyncio.create_task(watch.poll(), name=f"watch-{subject}")
            self._watches[subject] = watch
        queue: asyncio.Queue[Any] = asyncio.Queue()
        watch.subscribers.add(queue)
        try:
            yield queue
        finally:
            watch.subscribers.discard(queue)
            if not watch.subscribers and self._watches.get(subject) is watch:
                del self._watches[subject]
                if watch.task is not None:
                    watch.task.cancel()
                    with suppress(asyncio.CancelledError):
                        await watch.task
