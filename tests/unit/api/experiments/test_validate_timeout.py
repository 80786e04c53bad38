"""A dry run nobody answers is a 503, also where forgetting its result fails (the embedded
filesystem result backend has no file for a task that never ran)."""

from typing import Any

import pytest
from celery.exceptions import TimeoutError as CeleryTimeout
from fastapi.testclient import TestClient

from api.core.deps import get_owner, get_session
from api.experiments import service
from api.main import create_app
from broker import door
from tests.helpers import circles_spec, the_error


class Unanswered:
    def get(self, **_: Any) -> None:
        raise CeleryTimeout("no worker")

    def forget(self) -> None:
        raise FileNotFoundError("celery-task-meta-...")


def test_unanswered_dry_run_is_503_even_when_forget_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(door, "send_dry_run", lambda *a, **k: Unanswered())
    monkeypatch.setattr(service, "check_dataset", lambda *a: None)
    app = create_app()
    app.dependency_overrides[get_session] = lambda: None  # no database in unit tests
    app.dependency_overrides[get_owner] = lambda: "local"
    response = TestClient(app).post("/experiments/validate", json=circles_spec(epochs=3))
    assert response.status_code == 503, response.text
    assert "no validation worker answered" in the_error(response)["msg"]
