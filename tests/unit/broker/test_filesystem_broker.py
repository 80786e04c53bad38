"""The embedded broker's messages appear whole: a reader racing a writer in another process
never takes a message before it is written (kombu issue 1551), and each message is taken
once."""

import multiprocessing
from pathlib import Path
from typing import Any

from kombu import Connection

from broker.filesystem import TRANSPORT

MESSAGES = 300
# Big enough that writing one takes several system calls, as a reader lists the folder.
PAYLOAD = "x" * 2_000_000


def connection(folder: Path) -> Connection:
    options: dict[str, Any] = {
        "data_folder_in": str(folder / "queue"),
        "data_folder_out": str(folder / "queue"),
        "processed_folder": str(folder / "processed"),
        "control_folder": str(folder / "control"),
    }
    return Connection("filesystem://", transport=TRANSPORT, transport_options=options)


def write_messages(folder: Path) -> None:
    with connection(folder) as conn:
        queue = conn.SimpleQueue("race")
        for number in range(MESSAGES):
            queue.put({"number": number, "payload": PAYLOAD})


def test_a_reader_never_takes_a_message_before_it_is_whole(tmp_path: Path) -> None:
    for sub in ("queue", "processed"):
        (tmp_path / sub).mkdir()
    writer = multiprocessing.get_context("spawn").Process(target=write_messages, args=(tmp_path,))
    writer.start()
    numbers: list[int] = []
    try:
        with connection(tmp_path) as conn:
            queue = conn.SimpleQueue("race")
            while len(numbers) < MESSAGES:
                # A message read while its file was still being written is an empty or cut
                # JSON document: the get raises, as it killed the worker.
                message = queue.get(timeout=60)
                assert message.payload["payload"] == PAYLOAD
                numbers.append(message.payload["number"])
                message.ack()
    finally:
        writer.join(timeout=60)
    assert sorted(numbers) == list(range(MESSAGES))
    assert list((tmp_path / "queue").iterdir()) == []
    assert list((tmp_path / "processed").iterdir()) == []
