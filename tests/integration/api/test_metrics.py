"""GET /metrics on PostgreSQL and Redis: the queue depth is the training queue's length in
Redis, the experiments and the oldest queued one's age come from SQL, and who may read it
follows FITQ_METRICS_ACCESS (public by default, even where every other route needs a key)."""

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from api.main import create_app
from models.db import session_scope
from models.settings import get_settings
from models.tables import Experiment, utcnow
from tests.conftest import TEST_QUEUE
from tests.helpers import circles_spec
from tests.prometheus import samples, value


def test_the_queue_and_the_experiments_waiting_in_it(client: TestClient) -> None:
    ids = [client.post("/experiments", json=circles_spec()).json()["id"] for _ in range(2)]
    with session_scope() as session:
        old = utcnow() - timedelta(seconds=600)
        session.execute(update(Experiment).where(Experiment.id == ids[0]).values(created_at=old))
    public = TestClient(create_app())  # no key
    response = public.get("/metrics")
    assert response.status_code == 200, response.text
    found = samples(response.text)
    assert value(found, "fitq_queue_depth", queue=TEST_QUEUE) == 2  # nothing consumes it here
    assert value(found, "fitq_experiments", status="queued") == 2
    assert value(found, "fitq_experiments", status="running") == 0
    assert 600 <= value(found, "fitq_oldest_queued_seconds") < 660
    labels = {"route": "/experiments", "method": "POST", "status": "201"}
    assert value(found, "fitq_http_requests_total", **labels) >= 2


def test_metrics_behind_the_key(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        monkeypatch.setenv("FITQ_METRICS_ACCESS", "key")
        get_settings.cache_clear()
        assert TestClient(create_app()).get("/metrics").status_code == 401
        assert client.get("/metrics").status_code == 200  # the fixture's key
        monkeypatch.setenv("FITQ_METRICS_ACCESS", "off")
        get_settings.cache_clear()
        assert client.get("/metrics").status_code == 404
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
