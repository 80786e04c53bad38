"""Schemathesis drives the API from its own OpenAPI document, against the real PostgreSQL and
Redis: no 5xx, and every response (status code and body) is one the document describes.
Derandomized with a small budget per operation (3 generated cases besides the document's
own examples), so it is deterministic and quick enough for every run. Submitted experiments
are only queued (no worker runs here)."""

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from api.main import create_app
from models.settings import get_settings

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
QUICK_DRY_RUNS = get_settings().model_copy(update={"validate_timeout_seconds": 0.5})


# Loaded at import (the document needs no database); the `client` fixture gives each
# operation the run's emptied PostgreSQL database and Redis. (schemathesis.pytest's lazy
# fixture loader does not work with pytest 9.)
# No validation worker runs here, so a well-formed dry run waits for one: a short timeout
# keeps its documented 503 quick.
app = create_app()
app.dependency_overrides[get_settings] = lambda: QUICK_DRY_RUNS
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@schema.parametrize()
@settings(
    max_examples=3,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_as_documented(case: schemathesis.Case, client: TestClient) -> None:
    case.call_and_validate(checks=CHECKS)
