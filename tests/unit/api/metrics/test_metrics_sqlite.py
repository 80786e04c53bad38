"""GET /metrics on the embedded mode's SQLite, with the broker down: requests by route
template, experiments by status and the oldest queued one's age from SQL, and a source that
cannot be read left out of the scrape and counted, never a failed scrape."""

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from api.main import create_app
from models import db
from models.db import session_scope
from models.settings import get_settings
from models.tables import Experiment, utcnow
from tests.e2e.stack import free_port
from tests.factories import add_experiment
from tests.prometheus import Samples, samples, total, value


@pytest.fixture
def client(sqlite_db: str, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    monkeypatch.setenv("FITQ_AUTH", "disabled")
    # Nothing listens there: the broker is down for these tests.
    monkeypatch.setenv("FITQ_BROKER_URL", f"redis://127.0.0.1:{free_port()}/0")
    get_settings.cache_clear()
    return TestClient(create_app())


def scrape(client: TestClient) -> Samples:
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


def requests(found: Samples, route: str, status: str, method: str = "GET") -> float:
    labels = {"route": route, "method": method, "status": status}
    return value(found, "fitq_http_requests_total", **labels)


def test_requests_are_counted_by_route_template_never_by_id(client: TestClient) -> None:
    experiment_id = add_experiment()
    before = scrape(client)
    assert client.get(f"/experiments/{experiment_id}").status_code == 200
    assert client.get("/experiments/987654").status_code == 404
    assert client.get("/no/such/page").status_code == 404
    assert client.get("/ui/index.html").status_code == 200
    after = scrape(client)
    for route, status in [
        ("/experiments/{experiment_id}", "200"),
        ("/experiments/{experiment_id}", "404"),
        ("unmatched", "404"),
        ("/ui/{path}", "200"),
    ]:
        assert requests(after, route, status) - requests(before, route, status) == 1, route
    latency = "fitq_http_request_duration_seconds_count"
    route = "/experiments/{experiment_id}"
    assert total(after, latency, route=route) - total(before, latency, route=route) == 2
    labels = {label for _, have in after for label in have}
    assert not any("987654" in label_value or "/no/" in label_value for _, label_value in labels)


def test_experiments_by_status_and_the_oldest_queued_ones_age(client: TestClient) -> None:
    add_experiment(status="succeeded")
    add_experiment(status="running")
    waiting = add_experiment()
    add_experiment()  # queued just now
    with session_scope() as session:
        old = utcnow() - timedelta(seconds=300)
        session.execute(update(Experiment).where(Experiment.id == waiting).values(created_at=old))
    found = scrape(client)
    by_status = {s: value(found, "fitq_experiments", status=s) for s in ("queued", "running")}
    assert by_status == {"queued": 2, "running": 1}
    assert value(found, "fitq_experiments", status="succeeded") == 1
    assert ("fitq_experiments", frozenset({("status", "cancelled")})) in found  # 0, not absent
    assert 300 <= value(found, "fitq_oldest_queued_seconds") < 360


def test_a_down_broker_or_database_leaves_its_numbers_out(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    errors = "fitq_metrics_scrape_errors_total"
    before = scrape(client)
    found = scrape(client)
    assert value(found, errors, source="broker") - value(before, errors, source="broker") == 1
    assert not any(name == "fitq_queue_depth" for name, _ in found)
    assert value(found, "fitq_experiments", status="queued") == 0  # the database answered
    # A database file that cannot be opened: the scrape still answers, without SQL's numbers.
    missing = tmp_path_factory.mktemp("gone") / "no-such-folder" / "fitq.db"
    monkeypatch.setenv("FITQ_DATABASE_URL", f"sqlite:///{missing}")
    get_settings.cache_clear()
    db.get_engine.cache_clear()
    found = scrape(client)
    assert value(found, errors, source="database") - value(before, errors, source="database") == 1
    assert not any(name.startswith(("fitq_experiments", "fitq_oldest")) for name, _ in found)
    assert total(found, "fitq_http_requests_total", route="/metrics") >= 2


def test_who_may_read_the_metrics(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    assert "/metrics" not in client.get("/openapi.json").json()["paths"]
    monkeypatch.setenv("FITQ_METRICS_ACCESS", "off")
    get_settings.cache_clear()
    assert client.get("/metrics").status_code == 404
    monkeypatch.setenv("FITQ_METRICS_ACCESS", "key")
    monkeypatch.setenv("FITQ_AUTH", "required")
    get_settings.cache_clear()
    response = client.get("/metrics")
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
