"""Claims, reclaims, the attempt cap, fenced writes and the reconciler on the real PostgreSQL."""

from typing import Any

import psycopg
import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import make_url, update

from models.artifacts import final_model_key
from models.db import session_scope
from models.series_chunks import chunk_rows
from models.settings import get_settings
from models.store import get_store
from models.tables import Experiment
from tests.factories import age
from tests.helpers import submit, the_error
from tests.integration.redis_queue import drop_message
from worker.reconciler import reconcile_once
from worker.training import epoch_store, lifecycle


def claimed_job(client: TestClient) -> tuple[int, lifecycle.Claim]:
    """A job of 10 epochs, submitted and claimed by worker "w"."""
    experiment_id = submit(client, epochs=10)
    claimed = lifecycle.claim(experiment_id, "w")
    assert claimed is not None
    return experiment_id, claimed


def test_a_stale_job_is_reclaimed_and_the_old_attempt_is_fenced_off(client: TestClient) -> None:
    experiment_id = submit(client)
    first = lifecycle.claim(experiment_id, "a")
    assert first is not None and first.attempt == 1
    assert lifecycle.claim(experiment_id, "b") is None  # held by a live worker
    assert epoch_store.write_epoch(experiment_id, 1, 1, {"loss": 0.5}) == "ok"
    age(experiment_id, get_settings().heartbeat_timeout_seconds + 1)
    second = lifecycle.claim(experiment_id, "b")
    assert second is not None and second.attempt == 2
    # The presumed-dead worker wakes up: its writes match nothing and it learns it lost.
    assert epoch_store.write_epoch(experiment_id, 1, 2, {"loss": 0.4}) == "lost"
    assert epoch_store.heartbeat(experiment_id, 1) == "lost"
    assert [row["epoch"] for row in client.get(f"/experiments/{experiment_id}/history").json()] == [
        1
    ]
    body = client.get(f"/experiments/{experiment_id}").json()
    assert (body["status"], body["attempts"]) == ("running", 2)


def test_past_max_attempts_the_job_fails_saying_so(client: TestClient) -> None:
    experiment_id = submit(client)
    timeout = get_settings().heartbeat_timeout_seconds
    for _ in range(get_settings().max_attempts):
        assert lifecycle.claim(experiment_id, "w") is not None
        age(experiment_id, timeout + 1)
    assert lifecycle.claim(experiment_id, "w") is None
    body = client.get(f"/experiments/{experiment_id}").json()
    assert body["status"] == "failed"
    assert body["error"].startswith(f"gave up after {get_settings().max_attempts} attempts: ")


def test_resume_cuts_the_history_back_to_the_checkpoint(client: TestClient) -> None:
    experiment_id, claimed = claimed_job(client)
    for epoch in range(1, 6):
        epoch_store.write_epoch(experiment_id, claimed.attempt, epoch, {"loss": 1 / epoch})
    lifecycle.resume_at(experiment_id, 3)
    history = client.get(f"/experiments/{experiment_id}/history").json()
    assert [row["epoch"] for row in history] == [1, 2, 3]
    assert client.get(f"/experiments/{experiment_id}").json()["current_epoch"] == 3


def test_reconciler_requeues_stale_resends_lost_and_cancels_flagged(
    client: TestClient, redis_client: redis.Redis
) -> None:
    settings = get_settings()
    stale = submit(client)
    lifecycle.claim(stale, "dead")
    age(stale, settings.heartbeat_timeout_seconds + 1)
    lost = submit(client)
    age(lost, settings.reconcile_interval_seconds + 1)
    drop_message(redis_client, lost)
    flagged = submit(client)
    lifecycle.claim(flagged, "dead")
    client.post(f"/experiments/{flagged}/cancel")
    age(flagged, settings.heartbeat_timeout_seconds + 1)
    fresh = submit(client)
    live = submit(client)
    lifecycle.claim(live, "alive")

    sent: list[int] = []
    with session_scope() as session:
        first = reconcile_once(session, settings, sent.append)
    assert (first.requeued, first.resent, first.cancelled) == ([stale], [], [flagged])
    assert first.missing == {lost}  # one look may miss a message a worker is taking
    with session_scope() as session:
        second = reconcile_once(session, settings, sent.append, missing_before=first.missing)
    assert (second.requeued, second.resent, second.cancelled) == ([], [lost], [])
    assert sorted(sent) == sorted([stale, lost])
    statuses = {i: client.get(f"/experiments/{i}").json()["status"] for i in (stale, flagged)}
    assert statuses == {stale: "queued", flagged: "cancelled"}
    # Idempotent: another pass (another worker's reconciler) finds nothing to do.
    with session_scope() as session:
        again = reconcile_once(session, settings, sent.append, missing_before=second.missing)
    assert not any(again)
    assert lifecycle.claim(flagged, "w") is None
    assert fresh not in sent and live not in sent


def test_model_download_is_409_while_running_and_404_without_a_model(client: TestClient) -> None:
    experiment_id = submit(client)
    assert client.get(f"/experiments/{experiment_id}/model").status_code == 409
    claimed = lifecycle.claim(experiment_id, "w")
    assert claimed is not None
    lifecycle.finish(experiment_id, lifecycle.ExperimentStatus.SUCCEEDED, attempt=claimed.attempt)
    missing = client.get(f"/experiments/{experiment_id}/model")
    assert missing.status_code == 404
    error = the_error(missing)
    assert error["msg"] == f"experiment {experiment_id} has no trained model"
    assert error["path"] == "path.experiment_id"
    get_store().put_chunks(final_model_key(experiment_id), [b"PK-not-", b"really"])
    found = client.get(f"/experiments/{experiment_id}/model")
    assert found.status_code == 200
    assert found.headers["content-type"] == "application/octet-stream"
    assert f'filename="experiment-{experiment_id}.keras"' in found.headers["content-disposition"]
    assert found.content == b"PK-not-really"


def test_after_a_database_outage_stale_heartbeats_are_not_trusted(client: TestClient) -> None:
    settings = get_settings()
    stale = submit(client)
    lifecycle.claim(stale, "maybe-alive")
    age(stale, settings.heartbeat_timeout_seconds + 1)
    sent: list[int] = []
    with session_scope() as session:
        assert not any(reconcile_once(session, settings, sent.append, reclaim=False))
    assert client.get(f"/experiments/{stale}").json()["status"] == "running"


def test_a_retried_epoch_write_replaces_the_rows_an_earlier_try_committed(
    client: TestClient,
) -> None:
    # Epochs go in by plain INSERT, not an upsert: a write whose commit landed but whose
    # answer was lost is retried, and must not fail or duplicate.
    experiment_id, claimed = claimed_job(client)
    first = [(epoch, {"loss": 1 / epoch, "val_loss": None}) for epoch in (1, 2, 3)]
    assert epoch_store.write_epochs(experiment_id, claimed.attempt, first) == "ok"
    again = [(epoch, {"loss": 0.1 + epoch, "val_loss": 0.123456789012345}) for epoch in (2, 3, 4)]
    assert epoch_store.write_epochs(experiment_id, claimed.attempt, again) == "ok"
    history = client.get(f"/experiments/{experiment_id}/history").json()
    assert [(row["epoch"], row["loss"], row["val_loss"]) for row in history] == [
        (1, 1.0, None),
        (2, 2.1, 0.123456789012345),
        (3, 3.1, 0.123456789012345),
        (4, 4.1, 0.123456789012345),
    ]
    assert client.get(f"/experiments/{experiment_id}").json()["current_epoch"] == 4


def test_a_replacement_for_a_job_taken_over_meanwhile_deletes_nothing(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first try finds its epochs there (IntegrityError); the job is reclaimed before the
    # replacement, which must see the fence first and delete none of the new owner's epochs.
    experiment_id, claimed = claimed_job(client)
    first = [(epoch, {"loss": 1 / epoch}) for epoch in (1, 2, 3)]
    assert epoch_store.write_epochs(experiment_id, claimed.attempt, first) == "ok"
    write = epoch_store.PostgresStore.write

    def reclaimed_after_the_first_try(*args: Any) -> bool | None:
        try:
            return write(*args)
        finally:
            with session_scope() as session:
                session.execute(
                    update(Experiment)
                    .where(Experiment.id == experiment_id)
                    .values(attempts=Experiment.attempts + 1)
                )

    monkeypatch.setattr(epoch_store.PostgresStore, "write", reclaimed_after_the_first_try)
    again = [(epoch, {"loss": 9.0}) for epoch in (2, 3, 4)]
    assert epoch_store.write_epochs(experiment_id, claimed.attempt, again) == "lost"
    history = client.get(f"/experiments/{experiment_id}/history").json()
    assert [(row["epoch"], row["loss"]) for row in history] == [(1, 1.0), (2, 0.5), (3, 1 / 3)]


def test_an_epoch_write_whose_connection_dies_mid_write_is_retried(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The write's connection is checked out (and pinged) before its statement is built: a
    # link lost between the two must be retried (on a new connection), not fail the job.
    experiment_id, claimed = claimed_job(client)
    url = make_url(get_settings().database_url).set(drivername="postgresql")
    killed: list[int] = []

    def kill_the_link_once(*args: Any) -> list[dict]:
        if not killed:  # mid-write: end every other session of this database, and wait
            with psycopg.connect(url.render_as_string(hide_password=False)) as admin:
                killed.extend(
                    row[0]
                    for row in admin.execute(
                        "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity"
                        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                )
        return chunk_rows(*args)

    monkeypatch.setattr(epoch_store, "chunk_rows", kill_the_link_once)
    rows = [(epoch, {"loss": 1 / epoch}) for epoch in (1, 2, 3)]
    assert epoch_store.write_epochs(experiment_id, claimed.attempt, rows) == "ok"
    assert killed and all(killed)  # the write's session was among those ended
    history = client.get(f"/experiments/{experiment_id}/history").json()
    assert [(row["epoch"], row["loss"]) for row in history] == [(1, 1.0), (2, 0.5), (3, 1 / 3)]
