"""Idempotency-Key: a retry returns what the first request made and creates nothing."""

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import redis
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from api.core.idempotency import claim, request_hash, settle
from models.db import get_sessionmaker, session_scope
from models.settings import get_settings
from models.tables import LOCAL_OWNER, IdempotencyKey, utcnow
from tests.helpers import circles_spec
from tests.integration.redis_queue import queued_ids
from worker.reconciler import forget_idempotency_keys

KEY = {"Idempotency-Key": "9b2f6c1e-retry"}


def test_a_retried_experiment_is_replayed_not_created_again(
    client: TestClient, redis_client: redis.Redis
) -> None:
    first = client.post("/experiments", json=circles_spec(epochs=3), headers=KEY)
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    again = client.post("/experiments", json=circles_spec(epochs=3), headers=KEY)
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == first.headers["location"]
    assert again.json() == client.get(first.headers["location"]).json() == first.json()
    assert queued_ids(redis_client) == [first.json()["id"]]
    assert client.get("/experiments").json()["total"] == 1
    # Without a key, or with another one, it is a new experiment.
    assert (
        client.post("/experiments", json=circles_spec(epochs=3)).json()["id"] != first.json()["id"]
    )
    other = client.post(
        "/experiments", json=circles_spec(epochs=3), headers={"Idempotency-Key": "b"}
    )
    assert "idempotent-replayed" not in other.headers


def test_the_same_key_with_another_body_is_422_naming_the_header(client: TestClient) -> None:
    assert client.post("/experiments", json=circles_spec(epochs=3), headers=KEY).status_code == 201
    response = client.post("/experiments", json=circles_spec(epochs=4), headers=KEY)
    assert response.status_code == 422
    [detail] = response.json()["detail"]
    assert (detail["path"], detail["type"]) == ("header.Idempotency-Key", "idempotency_key_reused")
    # ... and with another route: the key names one request.
    study = {"base": circles_spec(epochs=3), "repeats": 2}
    assert client.post("/studies", json=study, headers=KEY).status_code == 422
    assert client.get("/studies").json()["total"] == 0


def test_key_length_is_bounded(client: TestClient) -> None:
    for key in ("", "k" * 256):
        response = client.post(
            "/experiments", json=circles_spec(epochs=3), headers={"Idempotency-Key": key}
        )
        assert response.status_code == 422, key
        assert response.json()["detail"][0]["path"] == "header.Idempotency-Key"
    assert client.get("/experiments").json()["total"] == 0


def test_studies_and_recipes_are_replayed(client: TestClient, redis_client: redis.Redis) -> None:
    study = {"base": circles_spec(epochs=3), "repeats": 2}
    first = client.post("/studies", json=study, headers=KEY)
    assert first.status_code == 201, first.text
    again = client.post("/studies", json=study, headers=KEY)
    assert (again.status_code, again.headers["idempotent-replayed"]) == (201, "true")
    assert again.json()["id"] == first.json()["id"]
    recipe = {"dataset": {"name": "circles", "n_train": 30}}
    key = {"Idempotency-Key": "recipe-1"}
    made = client.post("/recipes/dropout_grid", json=recipe, headers=key)
    assert made.status_code == 201, made.text
    replayed = client.post("/recipes/dropout_grid", json=recipe, headers=key)
    assert replayed.headers["idempotent-replayed"] == "true"
    assert replayed.json()["id"] == made.json()["id"]
    assert client.get("/studies").json()["total"] == 2
    # Each experiment queued once: nothing enqueued again by the replays.
    assert len(queued_ids(redis_client)) == client.get("/experiments").json()["total"]


def test_concurrent_duplicates_create_one_experiment(
    client: TestClient, redis_client: redis.Redis
) -> None:
    def post(_: int) -> tuple[int, int]:
        response = client.post("/experiments", json=circles_spec(epochs=3), headers=KEY)
        return response.status_code, response.json()["id"]

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(post, range(8)))
    assert {status for status, _ in answers} == {201}
    assert len({experiment_id for _, experiment_id in answers}) == 1
    assert client.get("/experiments").json()["total"] == 1
    assert queued_ids(redis_client) == [answers[0][1]]


def test_a_racing_claim_waits_for_the_winner_and_replays_it(client: TestClient) -> None:
    """Two transactions claim one key: the second blocks on the unique index until the first
    commits, then gets the first one's resource instead of creating its own."""
    digest = request_hash("POST", "/experiments", {"a": 1})
    winner, loser = get_sessionmaker()(), get_sessionmaker()()
    try:
        expired = IdempotencyKey.expired_before(24)
        assert claim(winner, LOCAL_OWNER, "race", digest, "experiments", expired) is None
        with ThreadPoolExecutor(1) as pool:
            waiting = pool.submit(claim, loser, LOCAL_OWNER, "race", digest, "experiments", expired)
            time.sleep(0.3)
            assert not waiting.done()  # blocked on the winner's uncommitted row
            settle(winner, LOCAL_OWNER, "race", 42)
            winner.commit()
            assert waiting.result(timeout=10) == 42
    finally:
        loser.rollback()
        winner.close()
        loser.close()


def age_key(key: str, hours: float) -> None:
    """Pretend the key was first sent `hours` ago."""
    with session_scope() as session:
        session.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.key == key)
            .values(created_at=utcnow() - timedelta(hours=hours))
        )


def test_a_key_past_its_hours_names_a_new_request(client: TestClient) -> None:
    first = client.post("/experiments", json=circles_spec(epochs=3), headers=KEY)
    age_key(KEY["Idempotency-Key"], get_settings().idempotency_key_hours + 0.1)
    again = client.post("/experiments", json=circles_spec(epochs=3), headers=KEY)
    assert again.status_code == 201, again.text
    assert "idempotent-replayed" not in again.headers
    assert again.json()["id"] != first.json()["id"]
    # The key now names the new request, for its own hours.
    third = client.post("/experiments", json=circles_spec(epochs=3), headers=KEY)
    assert third.headers["idempotent-replayed"] == "true"
    assert third.json()["id"] == again.json()["id"]


def test_the_reconciler_deletes_expired_keys_only(client: TestClient) -> None:
    for key in ("old", "fresh"):
        response = client.post(
            "/experiments", json=circles_spec(epochs=3), headers={"Idempotency-Key": key}
        )
        assert response.status_code == 201, response.text
    settings = get_settings()
    age_key("old", settings.idempotency_key_hours + 0.1)
    age_key("fresh", settings.idempotency_key_hours - 0.1)
    with session_scope() as session:
        assert forget_idempotency_keys(session, settings) == 1
    with session_scope() as session:
        assert session.scalars(select(IdempotencyKey.key)).all() == ["fresh"]
