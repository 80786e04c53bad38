"""FITQ_ARTIFACT_STORE=s3: an S3-compatible bucket through obstore (object_store, the Rust
crate, under Python). A put from a file or a stream is a multipart upload that S3 completes
only at its end, and obstore aborts it when the stream fails, so an object is whole or absent;
a small file is one PUT. Reads stream the response body."""

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import obstore
from obstore.store import S3Store as ObstoreS3

if TYPE_CHECKING:
    from obstore.store import ClientConfig

from models.store.base import (
    CHUNK,
    ArtifactMissingError,
    ArtifactStore,
    Reading,
    check_key,
    check_prefix,
)

# S3's smallest multipart part; two parts in flight bound what a put holds in memory.
_PART = 5 * 1024 * 1024
_PARTS_IN_FLIGHT = 2
# S3's most keys in one DeleteObjects request.
_DELETE_BATCH = 1000


class S3Store(ArtifactStore):
    def __init__(
        self,
        bucket: str,
        endpoint: str = "",
        region: str = "",
        access_key_id: str = "",
        secret_access_key: str = "",
    ) -> None:
        """Empty arguments are left to obstore, which reads the usual AWS_* variables."""
        config: dict[str, Any] = {
            name: value
            for name, value in (
                ("endpoint", endpoint),
                ("region", region),
                ("access_key_id", access_key_id),
                ("secret_access_key", secret_access_key),
            )
            if value
        }
        # A local S3-compatible server (MinIO, moto in the tests) often speaks plain HTTP.
        options: ClientConfig | None = (
            {"allow_http": True} if endpoint.startswith("http://") else None
        )
        self._store = ObstoreS3(bucket, client_options=options, **config)

    def put_chunks(self, key: str, chunks: Iterable[bytes]) -> None:
        obstore.put(
            self._store, check_key(key), iter(chunks),
            chunk_size=_PART, max_concurrency=_PARTS_IN_FLIGHT,
        )  # fmt: skip

    def put_file(self, key: str, path: Path) -> None:
        obstore.put(
            self._store, check_key(key), path,
            chunk_size=_PART, max_concurrency=_PARTS_IN_FLIGHT,
        )  # fmt: skip

    def open(self, key: str) -> Reading:
        try:
            result = obstore.get(self._store, check_key(key))
        except FileNotFoundError:
            raise ArtifactMissingError(key) from None
        return Reading(int(result.meta["size"]), _bytes(result.stream(min_chunk_size=CHUNK)))

    def exists(self, key: str) -> bool:
        try:
            obstore.head(self._store, check_key(key))
        except FileNotFoundError:
            return False
        return True

    def delete(self, key: str) -> None:
        obstore.delete(self._store, check_key(key))

    def list(self, prefix: str) -> list[str]:
        batches = obstore.list(self._store, prefix=check_prefix(prefix) or None)
        return sorted(meta["path"] for batch in batches for meta in batch)

    def delete_prefix(self, prefix: str) -> None:
        keys = self.list(prefix)
        for start in range(0, len(keys), _DELETE_BATCH):
            obstore.delete(self._store, keys[start : start + _DELETE_BATCH])


def _bytes(stream: Iterable[Any]) -> Iterator[bytes]:
    # obstore hands out its own buffer type; HTTP responses and files want bytes.
    for chunk in stream:
        yield bytes(chunk)
