"""FITQ_ARTIFACT_STORE=database: objects as chunked rows in fitq's own SQL database
(`artifact_objects`, `artifact_chunks`; migration 0013), on PostgreSQL or SQLite. The
production default: every host that reaches the database reaches every artifact.

A put writes the chunks of a new version, then swaps the object row to it and deletes the old
version's chunks, all in one transaction: a failed put rolls back whole. A read finds the
version once, then fetches its chunks one short query each, holding no connection between
them; a chunk gone midway (the object replaced or deleted) is an ArtifactReadError, never a
mix of two versions."""

import hashlib
import uuid
from collections.abc import Callable, Iterable, Iterator

from sqlalchemy import ColumnElement, Connection, Engine, delete, func, insert, select
from sqlalchemy.exc import IntegrityError

from models.db import get_engine
from models.store.base import (
    ArtifactMissingError,
    ArtifactReadError,
    ArtifactStore,
    Reading,
    check_key,
    check_prefix,
    rechunk,
)
from models.tables import ArtifactChunk, ArtifactObject, utcnow


class DatabaseStore(ArtifactStore):
    def __init__(self, engine: Callable[[], Engine] = get_engine) -> None:
        """`engine`: asked at each call, so a process that switches databases (the tests)
        follows it."""
        self._engine = engine

    def put_chunks(self, key: str, chunks: Iterable[bytes]) -> None:
        check_key(key)
        version, hasher, size = uuid.uuid4().hex, hashlib.sha256(), 0
        with self._engine().begin() as link:
            for seq, chunk in enumerate(rechunk(chunks)):
                link.execute(insert(ArtifactChunk).values(version=version, seq=seq, data=chunk))
                hasher.update(chunk)
                size += len(chunk)
            row = {"version": version, "size": size, "sha256": hasher.hexdigest()}
            _swap(link, key, row)

    def open(self, key: str) -> Reading:
        found_key = ArtifactObject.key == check_key(key)
        query = select(ArtifactObject.version, ArtifactObject.size).where(found_key)
        with self._engine().connect() as link:
            found = link.execute(query).first()
        if found is None:
            raise ArtifactMissingError(key)
        return Reading(found.size, self._chunks(key, found.version, found.size))

    def _chunks(self, key: str, version: str, size: int) -> Iterator[bytes]:
        read, seq = 0, 0
        while read < size:
            piece = (ArtifactChunk.version == version) & (ArtifactChunk.seq == seq)
            query = select(ArtifactChunk.data).where(piece)
            with self._engine().connect() as link:
                data = link.execute(query).scalar_one_or_none()
            if data is None:
                raise ArtifactReadError(f"{key} was replaced or deleted while it was read")
            read, seq = read + len(data), seq + 1
            yield bytes(data)

    def exists(self, key: str) -> bool:
        query = select(func.count()).where(ArtifactObject.key == check_key(key))
        with self._engine().connect() as link:
            return bool(link.execute(query).scalar())

    def delete(self, key: str) -> None:
        with self._engine().begin() as link:
            _delete_where(link, ArtifactObject.key == check_key(key))

    def list(self, prefix: str) -> list[str]:
        query = select(ArtifactObject.key).where(_under(prefix)).order_by(ArtifactObject.key)
        with self._engine().connect() as link:
            return list(link.execute(query).scalars())

    def delete_prefix(self, prefix: str) -> None:
        with self._engine().begin() as link:
            _delete_where(link, _under(prefix))


def _under(prefix: str) -> ColumnElement[bool]:
    # LIKE with its wildcards escaped; the tables hold thousands of rows, not millions.
    return ArtifactObject.key.startswith(check_prefix(prefix), autoescape=True)


def _swap(link: Connection, key: str, row: dict[str, object]) -> None:
    """Point `key` at the new version and delete the old one's chunks. Two puts of one key
    that end together (two API processes storing the same upload) both insert: the second
    waits for the first's commit, fails on the key, and, inside a savepoint, tries again,
    now finding the first's row to replace."""
    for _ in range(3):
        _delete_where(link, ArtifactObject.key == key)
        try:
            with link.begin_nested():
                link.execute(insert(ArtifactObject).values(key=key, created_at=utcnow(), **row))
            return
        except IntegrityError:
            continue
    raise RuntimeError(f"{key}: other puts of the same key kept replacing it")


def _delete_where(link: Connection, condition: ColumnElement[bool]) -> None:
    versions = select(ArtifactObject.version).where(condition)
    link.execute(delete(ArtifactChunk).where(ArtifactChunk.version.in_(versions)))
    link.execute(delete(ArtifactObject).where(condition))
