"""Alembic: an empty database of each kind upgrades to head, and matches the models exactly."""

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from models.tables import Base
from tests.conftest import PG_ADMIN_URL, require_server
from tests.helpers import ROOT, migrate


@pytest.fixture
def empty_postgres() -> Iterator[str]:
    require_server("PostgreSQL", "127.0.0.1", 5432)
    name = f"fitq_migrate_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def assert_matches_models(url: str) -> None:
    engine = create_engine(url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
        assert set(inspect(conn).get_table_names()) >= {"experiments", "epoch_metrics"}
    engine.dispose()


def downgrade_to_base(url: str) -> None:
    engine = create_engine(url)
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["configure_logger"] = False
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "base")
        assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
    engine.dispose()


def test_postgres_upgrades_to_head_with_no_drift(empty_postgres: str) -> None:
    migrate(empty_postgres)
    assert_matches_models(empty_postgres)
    downgrade_to_base(empty_postgres)


def test_sqlite_upgrades_to_head_with_no_drift(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fitq.db'}"
    migrate(url)
    assert_matches_models(url)
    downgrade_to_base(url)
