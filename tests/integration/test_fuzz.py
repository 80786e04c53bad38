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

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


# Loaded at import (the document needs no database); the `client` fixture gives each
# operation the run's emptied PostgreSQL database and Redis. (schemathesis.pytest's lazy
# fixture loader does not work with pytest 9.)
# Dry runs are left out: they wait on a validation worker through Celery's result backend,
# which none runs here (tests/integration/test_experiments_api.py covers their 503 and 422).
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app()).exclude(
    path="/experiments/validate"
)


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
