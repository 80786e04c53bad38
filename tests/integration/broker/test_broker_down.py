"""Submits while the broker refuses connections (a real Celery app aimed at a closed port):
the rows commit as queued and the request makes one send, not one per run, so a 200-run
study does not wait 200 failed sends."""

import logging

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from broker import door
from broker.config import make_celery
from models.db import session_scope
from models.settings import Settings
from models.tables import Experiment
from tests.e2e.stack import free_port
from tests.helpers import circles_spec

RUNS = 3


def test_a_study_submitted_while_the_broker_is_down_tries_one_send(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    closed = f"redis://127.0.0.1:{free_port()}/0"
    down = make_celery(Settings(mode="production", database_url="sqlite://", broker_url=closed))
    sends: list[object] = []
    real_send = down.send_task

    def send_task(*args: object, **kwargs: object) -> object:
        sends.append(args)
        return real_send(*args, **kwargs)

    monkeypatch.setattr(door, "celery_app", lambda: down)
    monkeypatch.setattr(down, "send_task", send_task)
    with caplog.at_level(logging.WARNING, logger=door.__name__):
        response = client.post("/studies", json={"base": circles_spec(), "repeats": RUNS})
    assert response.status_code == 201, response.text
    assert len(sends) == 1
    with session_scope() as session:
        queued = session.scalar(select(func.count()).where(Experiment.status == "queued"))
    assert queued == RUNS
    [warning] = caplog.records
    assert "they stay queued" in warning.getMessage()
