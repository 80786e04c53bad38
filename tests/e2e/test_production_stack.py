"""End to end on PostgreSQL + Redis with real API and worker processes."""

import io

from PIL import Image

from tests.e2e.stack import Api
from tests.helpers import circles_spec


def test_submit_poll_history_plot(pg_stack: Api) -> None:
    experiment_id = pg_stack.submit(circles_spec(epochs=20, name="circles-dropout"))
    done = pg_stack.wait_status(experiment_id, {"succeeded", "failed"}, timeout=180)
    assert done["status"] == "succeeded", done
    assert (done["current_epoch"], done["epochs_total"]) == (20, 20)
    assert done["finished_at"] >= done["started_at"] >= done["created_at"]
    history = pg_stack.history(experiment_id)
    assert [row["epoch"] for row in history] == list(range(1, 21))
    for row in history:
        assert {"loss", "val_loss", "accuracy", "val_accuracy"} <= row.keys()
        assert 0 < row["loss"] < 5
    assert done["latest_metrics"] == {k: v for k, v in history[-1].items() if k != "epoch"}
    png = pg_stack.http.get(
        f"/experiments/{experiment_id}/plot.png",
        params={"metric": "accuracy", "width": 500, "height": 300},
    )
    assert png.status_code == 200
    assert Image.open(io.BytesIO(png.content)).size == (500, 300)


def test_cancel_a_running_job(pg_stack: Api) -> None:
    experiment_id = pg_stack.submit(circles_spec(epochs=4000))
    running = pg_stack.wait_epoch(experiment_id, 1, timeout=120)
    assert running["status"] == "running"
    response = pg_stack.http.post(f"/experiments/{experiment_id}/cancel")
    assert response.status_code == 200
    assert response.json()["cancel_requested"] is True
    done = pg_stack.wait_status(experiment_id, {"cancelled", "failed", "succeeded"}, timeout=30)
    assert done["status"] == "cancelled"
    assert done["current_epoch"] < 4000
    epochs = [row["epoch"] for row in pg_stack.history(experiment_id)]
    assert epochs == list(range(1, done["current_epoch"] + 1))


def test_a_failing_job_ends_failed_with_a_readable_message(pg_stack: Api) -> None:
    spec = circles_spec(epochs=5)
    spec["model"]["layers"][-1] = {"type": "Dense", "units": 3, "activation": "softmax"}
    spec["compile"]["loss"] = "categorical_crossentropy"  # labels are 0/1, not one-hot
    experiment_id = pg_stack.submit(spec)
    done = pg_stack.wait_status(experiment_id, {"failed", "succeeded"}, timeout=120)
    assert done["status"] == "failed"
    assert "must have the same rank" in done["error"]
    assert "Traceback" not in done["error"]
    assert 'File "' not in done["error"]
    assert pg_stack.history(experiment_id) == []
