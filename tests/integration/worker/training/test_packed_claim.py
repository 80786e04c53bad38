"""A worker that claims a study's run claims, in SQL, its queued repeats of the same variant
to train them as one pack: each with its own attempt, none of another variant, none that is
cancelled, held or differs in more than the seed; handed back, each is queued and sent again."""

from typing import Any

import redis
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from models.db import session_scope
from models.tables import Experiment
from tests.conftest import TEST_QUEUE
from tests.helpers import circles_spec, submit
from worker.training import lifecycle
from worker.training.packed_claim import claim_repeats, release


def study_runs(client: TestClient, repeats: int) -> dict[str, list[int]]:
    """A study of variants "a" and "b", `repeats` each: their experiment ids by variant."""
    body = {
        "base": circles_spec(epochs=3),
        "variants": [{"name": "a"}, {"name": "b", "set": {"model.layers[0].units": 4}}],
        "repeats": repeats,
    }
    response = client.post("/studies", json=body)
    assert response.status_code == 201, response.text
    runs: dict[str, list[int]] = {}
    with session_scope() as session:
        found = session.execute(
            select(Experiment.id, Experiment.variant)
            .where(Experiment.study_id == response.json()["id"])
            .order_by(Experiment.id)
        )
        for experiment_id, variant in found:
            runs.setdefault(str(variant), []).append(experiment_id)
    return runs


def leader(experiment_id: int) -> lifecycle.Claim:
    claimed = lifecycle.claim(experiment_id, "w")
    assert claimed is not None
    return claimed


def rows(ids: list[int]) -> list[tuple[str, int]]:
    """(status, attempts) of each experiment."""
    with session_scope() as session:
        found = session.execute(
            select(Experiment.id, Experiment.status, Experiment.attempts).where(
                Experiment.id.in_(ids)
            )
        )
        by_id = {experiment_id: (status, attempts) for experiment_id, status, attempts in found}
    return [by_id[i] for i in ids]


def change(experiment_id: int, **values: Any) -> None:
    with session_scope() as session:
        session.execute(update(Experiment).where(Experiment.id == experiment_id).values(**values))


def test_the_queued_repeats_of_the_variant_are_claimed_each_with_its_attempt(
    client: TestClient,
) -> None:
    runs = study_runs(client, repeats=4)
    first, *others = runs["a"]
    members = claim_repeats(first, leader(first).spec, most=8)
    assert [m.experiment_id for m in members] == others
    assert all(m.claim.attempt == 1 and m.claim.recorded_epoch == 0 for m in members)
    assert [m.claim.spec["fit"]["seed"] for m in members] == [1, 2, 3]
    assert rows(runs["a"]) == [("running", 1)] * 4
    assert rows(runs["b"]) == [("queued", 0)] * 4  # another variant is another program
    assert claim_repeats(first, leader(runs["b"][0]).spec, most=8) == []  # a's are all taken


def test_held_cancelled_and_different_runs_stay_and_the_pack_has_a_limit(
    client: TestClient,
) -> None:
    first, held, cancelled, changed, *rest = study_runs(client, repeats=7)["a"]
    leader_spec = leader(first).spec
    leader(held)  # another worker runs it
    change(cancelled, cancel_requested=True)
    spec = circles_spec(epochs=4)  # another number of epochs: not the same fit
    change(changed, spec=spec | {"fit": spec["fit"] | {"seed": 3}})
    members = claim_repeats(first, leader_spec, most=2)
    assert [m.experiment_id for m in members] == rest[:2]
    assert rows([held, cancelled, changed, rest[2]]) == [
        ("running", 1), ("queued", 0), ("queued", 0), ("queued", 0),
    ]  # fmt: skip


def test_a_run_outside_a_study_packs_nothing(client: TestClient) -> None:
    alone = submit(client, epochs=3)
    assert claim_repeats(alone, leader(alone).spec, most=8) == []


def test_released_repeats_are_queued_and_sent_again(
    client: TestClient, redis_client: redis.Redis
) -> None:
    first, *others = study_runs(client, repeats=3)["a"]
    members = claim_repeats(first, leader(first).spec, most=8)
    sent = redis_client.llen(TEST_QUEUE)
    release(members)
    assert rows(others) == [("queued", 0)] * 2  # a hand-back is not an attempt
    assert redis_client.llen(TEST_QUEUE) == sent + 2
    again = claim_repeats(others[0], leader(others[0]).spec, most=8)  # the next worker's
    assert [m.experiment_id for m in again] == others[1:]
