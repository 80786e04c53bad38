"""Alembic: an empty database of each kind upgrades to head, and matches the models exactly."""

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

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


def alembic(url: str, action: Callable[[Config], None]) -> None:
    engine = create_engine(url)
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["configure_logger"] = False
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        action(config)
    engine.dispose()


def downgrade_to_base(url: str) -> None:
    alembic(url, lambda config: command.downgrade(config, "base"))
    engine = create_engine(url)
    with engine.connect() as conn:
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


METRICS = {"loss": 0.25, "accuracy": None, "val_loss": 1e-05}


def metrics_column(url: str) -> tuple[str, Any]:
    """The stored type of epoch_metrics.metrics and the one row's metrics, decoded."""
    engine = create_engine(url)
    with engine.connect() as conn:
        kind = conn.execute(
            text(
                "SELECT data_type FROM information_schema.columns"
                " WHERE table_name = 'epoch_metrics' AND column_name = 'metrics'"
            )
        ).scalar_one()
        stored = conn.execute(text("SELECT metrics::text FROM epoch_metrics")).scalar_one()
    engine.dispose()
    return kind, json.loads(stored)


def test_postgres_metrics_become_jsonb_and_back_with_their_values(empty_postgres: str) -> None:
    alembic(empty_postgres, lambda config: command.upgrade(config, "0006"))
    engine = create_engine(empty_postgres)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO experiments (id, owner, tags, spec, status, epochs_total,"
                " current_epoch, cancel_requested, created_at, attempts)"
                " VALUES (1, 'local', '[]', '{}', 'running', 5, 1, false, now(), 1)"
            )
        )
        conn.execute(
            text("INSERT INTO epoch_metrics VALUES (1, 1, :metrics, now())"),
            {"metrics": json.dumps(METRICS)},
        )
    engine.dispose()
    assert metrics_column(empty_postgres) == ("json", METRICS)
    migrate(empty_postgres)
    assert metrics_column(empty_postgres) == ("jsonb", METRICS)
    alembic(empty_postgres, lambda config: command.downgrade(config, "0006"))
    assert metrics_column(empty_postgres) == ("json", METRICS)
