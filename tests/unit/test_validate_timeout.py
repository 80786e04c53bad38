"""A dry run nobody answers is a 503, also where forgetting its result fails (the embedded
filesystem result backend has no file for a task that never ran)."""

from typing import Any

import pytest
from celery.exceptions import TimeoutError as CeleryTimeout
from fastapi.testclient import TestClient

from api import queries
from api.deps import get_owner, get_session
from api.main import create_app
from api.routers import validate
from tests.helpers import circles_spec


class Unanswered:
    def get(self, **_: Any) -> None:
        raise CeleryTimeout("no worker")

    def forget(self) -> None:
        raise FileNotFoundError("celery-task-meta-...")


def test_unanswered_dry_run_is_503_even_when_forget_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(validate.celery_app, "send_task", lambda *a, **k: Unanswered())
    monkeypatch.setattr(queries, "check_dataset", lambda *a: None)
    app = create_app()
    app.dependency_overrides[get_session] = lambda: None  # no database in unit tests
    app.dependency_overrides[get_owner] = lambda: "local"
    response = TestClient(app).post("/experiments/validate", json=circles_spec(epochs=3))
    assert response.status_code == 503, response.text
    assert "no validation worker answered" in response.json()["detail"][0]["msg"]
