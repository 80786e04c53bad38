"""The artifact store's contract, run on every store for real: a folder, the database on the
test PostgreSQL and on a SQLite file, and S3 on a local S3-compatible server process
(tests/s3_server.py: moto's stand-in, not AWS). Objects come back byte for byte, a put that
fails midway leaves the key as it was, prefixes delete and list by folder, and a 50 MiB
object goes in and out without the store ever holding it whole."""

import hashlib
import os
import threading
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from models.db import make_engine
from models.store import CHUNK, ArtifactMissingError, ArtifactStore
from models.store.database import DatabaseStore
from models.store.local import LocalStore
from tests.helpers import migrate
from tests.s3_server import MotoS3

STORES = ["local", "database-postgres", "database-sqlite", "s3"]


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoS3]:
    with MotoS3() as server:
        yield server


def _database_store(engine: Engine) -> DatabaseStore:
    with engine.begin() as link:  # other tests' objects share the run's database
        link.execute(text("DELETE FROM artifact_chunks"))
        link.execute(text("DELETE FROM artifact_objects"))
    return DatabaseStore(lambda: engine)


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ArtifactStore]:
    kind = request.param
    if kind == "local":
        yield LocalStore(tmp_path / "store")
    elif kind == "s3":
        moto: MotoS3 = request.getfixturevalue("moto")
        yield moto.store(moto.new_bucket())
    else:
        if kind == "database-postgres":
            url = request.getfixturevalue("database")
        else:
            url = f"sqlite:///{tmp_path / 'store.db'}"
            migrate(url)
        engine = make_engine(url)
        yield _database_store(engine)
        engine.dispose()


def pieces(total: int, size: int, fail_after: int | None = None) -> Iterator[bytes]:
    """`total` bytes of a fixed pseudo-random pattern in pieces of `size`; raises once
    `fail_after` pieces have gone out, as an upload cut off midway would."""
    block = hashlib.sha256(str(size).encode()).digest() * (size // 32 + 1)
    sent = 0
    while sent < total:
        if fail_after is not None and sent >= fail_after * size:
            raise ConnectionError("the client went away")
        piece = block[: min(size, total - sent)]
        sent += len(piece)
        yield piece


def read_all(store: ArtifactStore, key: str) -> bytes:
    return b"".join(store.open(key).chunks)


def test_an_object_of_many_chunks_comes_back_byte_for_byte(
    store: ArtifactStore, tmp_path: Path
) -> None:
    original = os.urandom(3 * CHUNK + 12345)
    # Pieces that do not line up with the store's chunks.
    offsets = range(0, len(original), 700_001)
    store.put_chunks("experiments/7/model.keras", (original[i : i + 700_001] for i in offsets))
    reading = store.open("experiments/7/model.keras")
    assert reading.size == len(original)
    chunks = list(reading.chunks)
    assert b"".join(chunks) == original
    assert max(len(c) for c in chunks) <= 2 * CHUNK
    store.get_file("experiments/7/model.keras", tmp_path / "copy" / "model.keras")
    assert (tmp_path / "copy" / "model.keras").read_bytes() == original
    assert store.exists("experiments/7/model.keras")
    assert store.list("experiments/7/") == ["experiments/7/model.keras"]
    source = tmp_path / "source.bin"
    source.write_bytes(original[:5000])
    store.put_file("experiments/7/model.keras", source)  # replaces the object
    assert read_all(store, "experiments/7/model.keras") == original[:5000]
    store.put_chunks("datasets/empty.npz", [])
    assert (
        store.open("datasets/empty.npz").size == 0 and read_all(store, "datasets/empty.npz") == b""
    )


def test_a_put_that_fails_midway_leaves_the_key_as_it_was(store: ArtifactStore) -> None:
    key = "experiments/3/checkpoints/epoch-000010.keras"
    with pytest.raises(ConnectionError):
        store.put_chunks(key, pieces(8 * CHUNK, CHUNK, fail_after=3))
    assert not store.exists(key)
    assert store.list("experiments/3/") == []
    with pytest.raises(ArtifactMissingError):
        store.open(key)

    store.put_chunks(key, [b"the first version"])
    with pytest.raises(ConnectionError):
        store.put_chunks(key, pieces(8 * CHUNK, CHUNK, fail_after=5))
    assert read_all(store, key) == b"the first version"


def test_delete_and_prefixes_go_by_folder(store: ArtifactStore) -> None:
    keys = [
        "datasets/abc.npz",
        "experiments/1/checkpoints/epoch-000002.keras",
        "experiments/1/model.keras",
        "experiments/10/model.keras",
    ]
    for key in keys:
        store.put_chunks(key, [key.encode()])
    assert store.list("") == keys
    assert store.list("experiments/1/") == keys[1:3]  # not experiments/10
    assert store.list("experiments/2/") == []
    store.delete_prefix("experiments/1/")
    assert store.list("experiments/") == ["experiments/10/model.keras"]
    store.delete("datasets/abc.npz")
    store.delete("datasets/abc.npz")  # a missing key is no error
    assert not store.exists("datasets/abc.npz")
    assert store.list("") == ["experiments/10/model.keras"]
    with pytest.raises(ValueError, match="ends with '/'"):
        store.list("experiments/1")
    with pytest.raises(ValueError, match="not an artifact key"):
        store.put_chunks("../outside", [b"x"])


def test_two_puts_racing_on_one_key_leave_one_whole_object(store: ArtifactStore) -> None:
    """Two API processes storing the same upload at once: both puts succeed, one wins."""
    key, ready = "datasets/same.npz", threading.Barrier(2)
    contents = [os.urandom(2 * CHUNK + 10), os.urandom(3 * CHUNK + 20)]
    failures: list[BaseException] = []

    def put(content: bytes) -> None:
        def chunks() -> Iterator[bytes]:
            yield from (content[i : i + CHUNK] for i in range(0, len(content), CHUNK))
            # Both at the swap together (SQLite lets one writer in: the other waits its turn).
            with suppress(threading.BrokenBarrierError):
                ready.wait(timeout=2)

        try:
            store.put_chunks(key, chunks())
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=put, args=(c,)) for c in contents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    assert read_all(store, key) in contents
    if isinstance(store, DatabaseStore):  # the loser's chunks went with it
        with store._engine().connect() as link:
            rows = link.execute(text("SELECT count(*) FROM artifact_chunks")).scalar()
        assert rows == len(list(store.open(key).chunks))


def peak_bytes(action: Callable[[], None]) -> int:
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_50_mib_object_is_streamed_in_and_out_in_bounded_memory(store: ArtifactStore) -> None:
    total, key = 50 * 1024 * 1024, "datasets/large.npz"
    expected = hashlib.sha256()
    for piece in pieces(total, 256 * 1024):
        expected.update(piece)
    put_peak = peak_bytes(lambda: store.put_chunks(key, pieces(total, 256 * 1024)))
    digest, size = hashlib.sha256(), 0

    def read() -> None:
        nonlocal size
        for chunk in store.open(key).chunks:
            digest.update(chunk)
            size += len(chunk)

    read_peak = peak_bytes(read)
    assert (size, digest.hexdigest()) == (total, expected.hexdigest())
    mib = 2**20
    print(f"{type(store).__name__}: peak {put_peak / mib:.1f} MiB put, {read_peak / mib:.1f} read")
    # S3 parts are 5 MiB at least, and two are in flight: a put holds up to three of them.
    assert put_peak < 16 * 1024 * 1024, put_peak
    assert read_peak < 4 * 1024 * 1024, read_peak
