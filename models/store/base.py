"""The artifact store's interface: objects under keys such as `datasets/<sha256>.npz` or
`experiments/12/model.keras`, written complete or not at all and read as a stream of chunks,
so no object is ever whole in memory. One implementation per FITQ_ARTIFACT_STORE
(docs/operations.md, "Artifact stores")."""

import os
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

# Bytes an object is read and written in: what a store holds in memory for one object.
CHUNK = 1024 * 1024


class ArtifactMissingError(FileNotFoundError):
    """No object under that key (never written, deleted, or its put failed)."""

    def __init__(self, key: str) -> None:
        super().__init__(f"no stored object {key!r}")
        self.key = key


class ArtifactReadError(OSError):
    """An object that changed or vanished while it was read: what was read is not it."""


@dataclass
class Reading:
    """An object found and opened: its size, and its bytes as chunks of at most CHUNK or so."""

    size: int
    chunks: Iterator[bytes]


def check_key(key: str) -> str:
    """Keys are relative paths without `..`, made by fitq, never by a user; a folder store
    must not be led outside its root."""
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"not an artifact key: {key!r}")
    return key


def check_prefix(prefix: str) -> str:
    """A prefix is a folder of keys (`experiments/12/`), so `experiments/1` never means 10."""
    if prefix and not prefix.endswith("/"):
        raise ValueError(f"an artifact prefix ends with '/': {prefix!r}")
    if prefix:
        check_key(prefix[:-1])
    return prefix


def file_chunks(path: Path, size: int = CHUNK) -> Iterator[bytes]:
    with path.open("rb") as source:
        while chunk := source.read(size):
            yield chunk


def rechunk(chunks: Iterable[bytes], size: int = CHUNK) -> Iterator[bytes]:
    """The same bytes in pieces of `size` (the last one shorter), whatever pieces came in."""
    buffer = bytearray()
    for chunk in chunks:
        buffer += chunk
        while len(buffer) >= size:
            yield bytes(buffer[:size])
            del buffer[:size]
    if buffer:
        yield bytes(buffer)


class ArtifactStore(ABC):
    @abstractmethod
    def put_chunks(self, key: str, chunks: Iterable[bytes]) -> None:
        """Store the chunks under `key`, replacing what was there: complete or absent, never
        half written. An exception from `chunks` leaves the key as it was."""

    def put_file(self, key: str, path: Path) -> None:
        self.put_chunks(key, file_chunks(path))

    @abstractmethod
    def open(self, key: str) -> Reading:
        """The object, found now (ArtifactMissingError if not) and read as it is iterated."""

    def get_file(self, key: str, target: Path) -> None:
        """Copy the object to a local file, under a temporary name renamed into place."""
        reading = self.open(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".get-", suffix=".part")
        try:
            written = 0
            with os.fdopen(fd, "wb") as out:
                for chunk in reading.chunks:
                    out.write(chunk)
                    written += len(chunk)
            if written != reading.size:
                raise ArtifactReadError(f"{key}: read {written} bytes of {reading.size}")
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def delete(self, key: str) -> None:
        """Delete the object; a missing one is not an error."""

    @abstractmethod
    def list(self, prefix: str) -> list[str]:
        """The keys under a folder prefix (`experiments/12/checkpoints/`), sorted."""

    def delete_prefix(self, prefix: str) -> None:
        """Delete every object under a folder prefix."""
        for key in self.list(prefix):
            self.delete(key)

    def local_path(self, key: str) -> Path | None:
        """A file on this machine that holds the object, where the store is a folder; None
        elsewhere (the caller copies it with get_file)."""
        return None
