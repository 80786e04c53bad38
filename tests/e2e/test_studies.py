"""End to end: a recipe study runs to completion in a real worker process."""

from typing import Any

from tests.e2e.stack import Api
from tests.helpers import poll

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
