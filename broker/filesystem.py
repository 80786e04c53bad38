"""The embedded broker: kombu's filesystem transport with messages that appear whole.

kombu's `_put` creates the message file under its final name and then writes it, so a reader
listing the folder in between takes an empty file and the worker dies of a JSONDecodeError
(kombu issue 1551). Here a message is written under a hidden temporary name, which readers
never match, and renamed into place (atomic within one folder). A reader claims a message by
renaming it into the processed folder beside the queue folder (kombu moves it to the system's
temporary folder, which may be another filesystem, where the move is a copy that two readers
can both make), reads it and deletes it. Waiting for a message ends when the Celery worker is
asked to stop, so an idle worker stops at once rather than after its 2 s wait.

Keras-free: the API sends through it too."""

import logging
import os
import uuid
from pathlib import Path
from queue import Empty
from time import monotonic
from typing import Any

from celery.worker import state
from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.json import dumps, loads

log = logging.getLogger(__name__)
TRANSPORT = f"{__name__}:Transport"  # for Celery's broker_transport setting


class Channel(filesystem.Channel):
    # kombu's filesystem Channel names the argument `payload`, its abstract base `message`.
    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:  # type: ignore[override]
        # kombu's name: readers take the files of a queue in the order of these names.
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        folder = Path(self.data_folder_out)
        partial = folder / f".{name}.part"  # a reader matches only "<id>.<queue>.msg"
        try:
            partial.write_bytes(dumps(payload).encode())
            os.replace(partial, folder / name)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise ChannelError(f"Cannot add message {name!r} to {folder}") from exc

    def _get(self, queue: str, timeout: float | None = None) -> Any:
        suffix = f"{queue}.msg"
        folder = Path(self.data_folder_in)
        for name in sorted(os.listdir(folder)):
            if name.partition(".")[2] != suffix:
                continue
            claimed = Path(self.processed_folder) / name
            try:
                os.rename(folder / name, claimed)  # only one reader's rename finds it
            except FileNotFoundError:
                continue
            try:
                payload = claimed.read_bytes()
                claimed.unlink()
            except OSError as exc:
                raise ChannelError(f"Cannot read message {claimed}") from exc
            try:
                return loads(payload.decode())
            except ValueError:
                # Only a crash mid-write (power loss) leaves one; the reconciler re-sends
                # its job, while a worker that raised here would die.
                log.error("skipped an unreadable broker message %s: %r", name, payload[:200])
        raise Empty()


class Transport(filesystem.Transport):
    Channel = Channel
    # kombu's default is 1 s: each message, a dry run's too, waited up to that for a reader.
    polling_interval = 0.1

    @property
    def default_connection_params(self) -> dict[str, Any]:
        # Without a default hostname kombu does not warn that "filesystem://" names none.
        return {"port": self.default_port}

    def drain_events(self, connection: Any, timeout: float | None = None) -> None:  # type: ignore[override]
        # Celery's loop for brokers without events waits in here up to 2 s before it looks
        # for a shutdown request: look for one after each poll instead.
        started = monotonic()
        while True:
            try:
                return super().drain_events(connection, timeout=self.polling_interval)
            except TimeoutError:  # socket.timeout
                stopping = state.should_stop is not None or state.should_terminate is not None
                if stopping or (timeout is not None and monotonic() - started >= timeout):
                    raise
