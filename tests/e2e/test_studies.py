"""End to end: a recipe study runs to completion in a real worker process; a variant's
repeats train as one pack, each its own run, one of them cancelled while the others go on."""

from typing import Any

from tests.e2e.stack import Api
from tests.helpers import circles_spec, poll, slow_circles_spec

FINAL = {"succeeded", "failed", "partially_failed", "cancelled"}


def test_regularization_recipe_on_circles_runs_every_variant(pg_stack: Api) -> None:
    body = {"dataset": {"name": "circles", "n_samples": 100, "n_train": 30}, "epochs": 5}
    response = pg_stack.http.post("/recipes/regularization", json=body)
    assert response.status_code == 201, response.text

    def read() -> dict[str, Any]:
        study = pg_stack.http.get(response.headers["location"])
        assert study.status_code == 200, study.text
        return dict(study.json())

    study = poll(read, lambda s: s["status"] in FINAL, timeout=300)
    assert study["status"] == "succeeded", study
    assert study["counts"]["succeeded"] == 5
    summary = {variant["variant"]: variant for variant in study["summary"]}
    assert list(summary) == ["baseline", "smaller", "bigger", "l2", "dropout"]
    for variant in summary.values():
        assert (variant["runs"], variant["finished"], variant["succeeded"]) == (1, 1, 1)
        assert variant["monitor"] == "val_loss"  # n_train leaves 70 samples to validate on
        assert 1 <= variant["best_epoch"]["mean"] <= 5
        assert variant["best_epoch"]["std"] is None  # one repeat
        assert {"val_loss", "val_accuracy"} <= variant["at_best"].keys()
        assert {"loss", "accuracy"} <= variant["final_train"].keys()
        [run] = variant["per_run"]
        assert run["epochs"] == 5 and run["status"] == "succeeded"


def study_of_repeats(api: Api, base: dict[str, Any], repeats: int) -> tuple[int, list[int]]:
    """A study of the base alone, `repeats` times: its id and its runs' ids."""
    response = api.http.post("/studies", json={"base": base, "repeats": repeats})
    assert response.status_code == 201, response.text
    study = response.json()
    runs = [run["experiment_id"] for run in study["summary"][0]["per_run"]]
    assert len(runs) == repeats
    return study["id"], sorted(runs)


def packed_runs(api: Api, runs: list[int], timeout: float) -> list[dict[str, Any]]:
    """The runs once finished, each trained in one pack with all the others."""
    done = [api.wait_status(run, FINAL, timeout=timeout) for run in runs]
    for run in done:
        assert run["trainer"]["name"] == "compiled"
        assert run["trainer"]["packed"] == runs, "one program trained them together"
    # The one task that took the first message trained them all, and said so.
    assert api.logs is not None
    log = (api.logs / "worker.log").read_text()
    assert log.count(f"experiments {runs} train as one pack") == 1
    return done


def epochs_of(api: Api, experiment_id: int) -> list[int]:
    return [row["epoch"] for row in api.history(experiment_id)]


def test_a_variants_repeats_train_as_one_pack_each_its_own_run(pg_stack: Api) -> None:
    _, runs = study_of_repeats(pg_stack, circles_spec(epochs=300), repeats=4)
    done = packed_runs(pg_stack, runs, timeout=300)
    for run in done:
        assert run["status"] == "succeeded", run["error"]
        assert epochs_of(pg_stack, run["id"]) == list(range(1, 301))
        model = pg_stack.http.get(f"/experiments/{run['id']}/model")
        assert model.status_code == 200  # each its own final model
    # Four seeds, four fits: no two histories alike.
    losses = {tuple(row["loss"] for row in pg_stack.history(run)) for run in runs}
    assert len(losses) == 4


def test_a_cancelled_repeat_ends_while_the_rest_of_its_pack_goes_on(pg_stack: Api) -> None:
    epochs = 400
    _, runs = study_of_repeats(pg_stack, slow_circles_spec(epochs), repeats=4)
    target = runs[1]
    assert pg_stack.wait_epoch(target, 10, timeout=240)["status"] == "running"
    assert pg_stack.http.post(f"/experiments/{target}/cancel").status_code == 200
    done = {run["id"]: run for run in packed_runs(pg_stack, runs, timeout=400)}
    cancelled = done.pop(target)
    assert cancelled["status"] == "cancelled"
    stopped_at = epochs_of(pg_stack, target)
    assert stopped_at == list(range(1, len(stopped_at) + 1)) and len(stopped_at) < epochs
    for run in done.values():
        assert run["status"] == "succeeded", run["error"]
        assert run["finished_at"] > cancelled["finished_at"]  # the others went on
        assert epochs_of(pg_stack, run["id"]) == list(range(1, epochs + 1))
