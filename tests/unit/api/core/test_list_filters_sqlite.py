"""The list filters in the embedded mode's SQLite, where tags are JSON text (PostgreSQL's are
tested through the API in tests/integration/api/core/test_request_errors.py)."""

from api.experiments.service import ExperimentFilters, list_page
from models.db import session_scope
from models.tables import ExperimentStatus
from tests.factories import add_experiment


def add(name: str, tags: list[str]) -> None:
    add_experiment({}, epochs_total=1, owner="local", name=name, tags=tags, status="queued")


def listed(**filters: object) -> list[str]:
    with session_scope() as session:
        found = ExperimentFilters(**filters)  # type: ignore[arg-type]
        items, total = list_page(session, "local", found, 50, 0)
    assert total == len(items)
    return [item.name or "" for item in items]


def test_tags_and_names_filter_on_sqlite(sqlite_db: str) -> None:
    add("Circles 50%", ["circles", "dropout"])
    add("circles_plain", ["circles"])
    add("moons", ["dropout", "circles-ish"])
    assert listed(tags=("circles",)) == ["circles_plain", "Circles 50%"]
    assert listed(tags=("circles", "dropout")) == ["Circles 50%"]
    assert listed(name="CIRCLES") == ["circles_plain", "Circles 50%"]
    assert listed(name="s_p") == ["circles_plain"]
    assert listed(name="%") == ["Circles 50%"]
    assert listed(status=ExperimentStatus.RUNNING, tags=("dropout",)) == []
