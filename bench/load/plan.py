"""What the load test asks of the API: the endpoints, the spec it submits, and how an offered
rate becomes locust users. Free of locust, so the runner and the unit tests can import it."""

import math
from dataclasses import dataclass
from typing import Any

# The names locust records (its Type and Name columns, joined), one per endpoint under test.
STATUS = "GET /experiments/{id}"
HISTORY = "GET /experiments/{id}/history"
SUBMIT = "POST /experiments"

# Requests per second offered by default: what this project's 2-core machine sustains with
# margin while shared (BENCHMARKS.md, "API under load", has the runs behind the choice).
DEFAULT_RATES = {STATUS: 20.0, HISTORY: 5.0, SUBMIT: 5.0}

# A tiny valid spec: the circles data of the dropout article with a small model and a few
# epochs. Nothing trains it: the load test's queue has no worker.
SUBMIT_SPEC: dict[str, Any] = {
    "name": "load-test",
    "tags": ["load"],
    "dataset": {"name": "circles", "n_samples": 100, "noise": 0.1, "n_train": 30},
    "model": {
        "layers": [
            {"type": "Dense", "units": 8, "activation": "relu"},
            {"type": "Dense", "units": 1, "activation": "sigmoid"},
        ]
    },
    "compile": {"optimizer": "adam", "loss": "binary_crossentropy", "metrics": ["accuracy"]},
    "fit": {"epochs": 5, "batch_size": 32},
}


@dataclass(frozen=True)
class RatePlan:
    """How an offered rate is made: `users` locust users, each at `per_user` requests/s."""

    users: int
    per_user: float


def plan_rate(rate: float, per_user: float = 1.0) -> RatePlan:
    """Enough users that none goes faster than `per_user`: at 1 request/s per user a slow
    answer delays only that user's next request, so the offered rate holds unless a
    response takes longer than a second (locust users wait for their answer)."""
    if rate <= 0 or per_user <= 0:
        raise ValueError("rates must be above 0")
    users = math.ceil(rate / per_user - 1e-9)
    return RatePlan(users=users, per_user=rate / users)
