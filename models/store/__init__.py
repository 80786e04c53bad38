"""The artifact store the settings choose: where uploads, checkpoints and final models live.
Shared by the API and the workers; never imports Keras."""

from functools import lru_cache
from pathlib import Path

from models.settings import Settings, get_settings
from models.store.base import (
    CHUNK,
    ArtifactMissingError,
    ArtifactReadError,
    ArtifactStore,
    Reading,
)

__all__ = [
    "CHUNK",
    "ArtifactMissingError",
    "ArtifactReadError",
    "ArtifactStore",
    "Reading",
    "get_store",
    "store_for",
]


def get_store() -> ArtifactStore:
    """The store of the current settings (built once per configuration)."""
    return store_for(get_settings())


def store_for(settings: Settings) -> ArtifactStore:
    secret = settings.s3_secret_access_key.get_secret_value()
    return _build(
        settings.artifact_store or "local",
        str(settings.artifacts_path),
        (settings.s3_bucket, settings.s3_endpoint, settings.s3_region),
        (settings.s3_access_key_id, secret),
    )


@lru_cache(maxsize=8)
def _build(
    kind: str, root: str, bucket: tuple[str, str, str], credentials: tuple[str, str]
) -> ArtifactStore:
    # Imported when chosen: only an s3 deployment needs obstore loaded.
    if kind == "database":
        from models.store.database import DatabaseStore

        return DatabaseStore()
    if kind == "s3":
        from models.store.s3 import S3Store

        return S3Store(*bucket, *credentials)
    from models.store.local import LocalStore

    return LocalStore(Path(root))
