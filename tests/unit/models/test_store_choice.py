"""Which artifact store a deployment gets: a folder for one-command local runs, the database
for production (a cluster shares nothing but it and the broker), S3 only with a bucket."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from models.settings import Settings
from models.store import store_for
from models.store.database import DatabaseStore
from models.store.local import LocalStore
from models.store.s3 import S3Store

PRODUCTION = {"mode": "production", "database_url": "sqlite://", "broker_url": "redis://x"}


def test_embedded_keeps_a_folder_and_production_the_database(tmp_path: Path) -> None:
    embedded = store_for(Settings(mode="embedded", data_dir=tmp_path, artifact_store=None))
    assert isinstance(embedded, LocalStore) and embedded.root == tmp_path / "artifacts"
    production = Settings(**PRODUCTION, artifact_store=None)  # type: ignore[arg-type]
    assert production.artifact_store == "database"
    assert isinstance(store_for(production), DatabaseStore)
    chosen = Settings(**PRODUCTION, artifact_store="local", artifacts_dir=tmp_path)  # type: ignore[arg-type]
    assert isinstance(store_for(chosen), LocalStore)


def test_s3_needs_a_bucket() -> None:
    with pytest.raises(ValidationError, match="FITQ_ARTIFACT_STORE=s3 needs FITQ_S3_BUCKET"):
        Settings(**PRODUCTION, artifact_store="s3")  # type: ignore[arg-type]
    settings = Settings(
        **PRODUCTION, artifact_store="s3", s3_bucket="fitq", s3_region="eu-west-1",  # type: ignore[arg-type]
        s3_endpoint="http://127.0.0.1:9000", s3_access_key_id="k", s3_secret_access_key="s",
    )  # fmt: skip
    assert isinstance(store_for(settings), S3Store)
    assert "'s'" not in repr(settings)  # the secret stays out of logs and tracebacks
