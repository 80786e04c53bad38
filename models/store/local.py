"""FITQ_ARTIFACT_STORE=local: a key is a file under one folder (FITQ_ARTIFACTS_DIR). The
embedded default: one machine, or hosts that mount one shared file system."""

import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from models.store.base import (
    CHUNK,
    ArtifactMissingError,
    ArtifactStore,
    Reading,
    check_key,
    check_prefix,
)

# Files being written; never listed, and a crash leaves at worst one of these behind.
_PARTIAL = ".put-"


class LocalStore(ArtifactStore):
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put_chunks(self, key: str, chunks: Iterable[bytes]) -> None:
        # A temporary file beside the target, renamed over it once whole: a rename within a
        # folder is atomic, so readers see the old object or the new one.
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=_PARTIAL, suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def open(self, key: str) -> Reading:
        try:
            source = self._path(key).open("rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ArtifactMissingError(key) from None
        return Reading(os.fstat(source.fileno()).st_size, _chunks(source))

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def list(self, prefix: str) -> list[str]:
        folder = self.root / check_prefix(prefix)
        if not folder.is_dir():
            return []
        return sorted(
            path.relative_to(self.root).as_posix()
            for path in folder.rglob("*")
            if path.is_file() and not path.name.startswith(_PARTIAL)
        )

    def delete_prefix(self, prefix: str) -> None:
        if check_prefix(prefix):
            shutil.rmtree(self.root / prefix, ignore_errors=True)
        else:
            super().delete_prefix(prefix)

    def local_path(self, key: str) -> Path | None:
        path = self._path(key)
        return path if path.is_file() else None


def _chunks(source: BinaryIO) -> Iterator[bytes]:
    with source:
        while chunk := source.read(CHUNK):
            yield chunk
