"""GET /experiments/{id}/diagnosis on the real PostgreSQL: history rows written as a worker
writes them (lifecycle.claim / record_epoch), the verdict read over HTTP."""

from fastapi.testclient import TestClient

from models.tables import ExperimentStatus
from tests.factories import record_epochs
from tests.helpers import notebook_log, submit, the_error


def test_the_bigger_notebook_model_is_overfitting_from_epoch_2(client: TestClient) -> None:
    experiment_id = submit(client, epochs=20)
    record_epochs(experiment_id, notebook_log("bigger"), finish=ExperimentStatus.SUCCEEDED)

    response = client.get(f"/experiments/{experiment_id}/diagnosis")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["experiment_id"], body["status"]) == (experiment_id, "succeeded")
    assert (body["verdict"], body["overfitting_from_epoch"], body["best_epoch"]) == (
        "overfitting", 2, 1,
    )  # fmt: skip
    assert (body["epochs"], body["epochs_total"], body["finished"]) == (20, 20, True)
    assert body["at_last"]["epoch"] == 20
    assert body["at_last"]["gaps"]["loss"] > 0.9
    assert body["rules"]["overfit_patience"] == 3
    # The stored spec (circles with a Dropout layer, binary crossentropy) shapes the advice.
    assert body["loss_reference_kind"] == "chance"
    codes = [remedy["code"] for remedy in body["remedies"]]
    assert "stronger_dropout" in codes and "dropout" not in codes


def test_without_a_finished_epoch_it_is_insufficient_data(client: TestClient) -> None:
    experiment_id = submit(client, epochs=20)
    body = client.get(f"/experiments/{experiment_id}/diagnosis").json()
    assert (body["verdict"], body["status"], body["finished"]) == (
        "insufficient_data", "queued", False,
    )  # fmt: skip
    assert (body["epochs"], body["best_epoch"], body["remedies"]) == (0, None, [])

    record_epochs(experiment_id, [{"epoch": 1, "loss": 0.7, "val_loss": 0.71}])
    running = client.get(f"/experiments/{experiment_id}/diagnosis").json()
    assert (running["verdict"], running["epochs"]) == ("insufficient_data", 1)
    assert running["notes"][0].startswith("Provisional")


def test_unknown_experiment_is_404(client: TestClient) -> None:
    response = client.get("/experiments/999/diagnosis")
    assert response.status_code == 404
    assert the_error(response)["msg"] == "experiment 999 not found"
    assert the_error(response)["path"] == "path.experiment_id"
