"""End to end on PostgreSQL + Redis with real API and worker processes."""

import io
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
from PIL import Image

from tests.conftest import DATA_DIR
from tests.e2e.generated_client import generate, submodule
from tests.e2e.stack import BIN, Api, Proc, free_port, stack_env
from tests.helpers import circles_spec, poll, slow_circles_spec

KERAS_DIR = DATA_DIR / "keras-datasets"


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
    experiment_id = pg_stack.submit(slow_circles_spec(epochs=4000))
    running = pg_stack.wait_epoch(experiment_id, 1, timeout=120)
    assert running["status"] == "running"
    response = pg_stack.http.post(f"/experiments/{experiment_id}/cancel")
    assert response.status_code == 200
    assert response.json()["cancel_requested"] is True
    done = pg_stack.wait_status(experiment_id, {"cancelled", "failed", "succeeded"}, timeout=30)
    assert done["status"] == "cancelled", done
    assert done["current_epoch"] < 4000
    epochs = [row["epoch"] for row in pg_stack.history(experiment_id)]
    assert epochs == list(range(1, done["current_epoch"] + 1))


def test_a_failing_job_ends_failed_with_a_readable_message(pg_stack: Api) -> None:
    spec = circles_spec(epochs=5)
    # One sigmoid unit cannot score two classes with sparse_categorical_crossentropy.
    spec["compile"]["loss"] = "sparse_categorical_crossentropy"
    experiment_id = pg_stack.submit(spec)
    done = pg_stack.wait_status(experiment_id, {"failed", "succeeded"}, timeout=120)
    assert done["status"] == "failed"
    assert done["error"] == (
        "ValueError: sparse_categorical_crossentropy needs one output unit per class: "
        "the labels run from 0 to 1 but the output layer has 1 unit"
    )
    assert "Traceback" not in done["error"]
    assert 'File "' not in done["error"]
    assert pg_stack.history(experiment_id) == []


def test_dry_run_describes_the_model_and_stores_nothing(pg_stack: Api) -> None:
    before = pg_stack.http.get("/experiments").json()["total"]
    response = pg_stack.http.post("/experiments/validate", json=circles_spec(epochs=4000))
    assert response.status_code == 200, response.text
    summary = response.json()
    assert summary["total_params"] == (2 * 500 + 500) + (500 + 1)
    assert [layer["type"] for layer in summary["layers"]] == ["Dense", "Dropout", "Dense"]
    assert summary["layers"][0]["output_shape"] == [None, 500]
    assert summary["estimated_memory_bytes"] > summary["total_params"] * 4
    assert pg_stack.http.get("/experiments").json()["total"] == before


def test_a_keras_dataset_that_is_not_cached_fails_fast_naming_file_and_folder(
    pg_stack: Api,
) -> None:
    spec = circles_spec(epochs=2, dataset={"name": "fashion_mnist"})
    spec["model"]["layers"][-1] = {"type": "Dense", "units": 10, "activation": "softmax"}
    spec["compile"]["loss"] = "sparse_categorical_crossentropy"
    experiment_id = pg_stack.submit(spec)
    done = pg_stack.wait_status(experiment_id, {"failed", "succeeded"}, timeout=60)
    assert done["status"] == "failed"
    assert "fashion-mnist" in done["error"]
    assert str(KERAS_DIR) in done["error"]
    assert "Traceback" not in done["error"]


def test_test_split_evaluation_is_stored_with_the_experiment(pg_stack: Api) -> None:
    spec = circles_spec(
        epochs=3, dataset={"name": "digits", "test_fraction": 0.25, "test_split": "evaluation"}
    )
    spec["model"]["layers"][-1] = {"type": "Dense", "units": 10, "activation": "softmax"}
    spec["compile"]["loss"] = "sparse_categorical_crossentropy"
    spec["fit"]["validation_split"] = 0.2
    experiment_id = pg_stack.submit(spec)
    done = pg_stack.wait_status(experiment_id, {"failed", "succeeded"}, timeout=120)
    assert done["status"] == "succeeded", done["error"]
    assert set(done["test_metrics"]) == {"loss", "accuracy"}
    assert 0 <= done["test_metrics"]["accuracy"] <= 1


def test_early_stopping_ends_an_overfitting_fit_and_says_why(pg_stack: Api) -> None:
    # 500 units on 30 training points, no dropout (circles_overfit), one full batch per epoch:
    # val_loss wanders up for some 15 epochs as the model leaves its 0.5 guesses, falls
    # smoothly to its lowest near epoch 50, then rises as the model overfits. The warm-up
    # skips the first wander, so it is overfitting that stops the fit.
    spec = circles_spec(epochs=2000, name="circles-early-stopping")
    spec["model"]["layers"] = [
        {"type": "Dense", "units": 500, "activation": "relu"},
        {"type": "Dense", "units": 1, "activation": "sigmoid"},
    ]
    spec["compile"]["optimizer"] = {"name": "adam", "learning_rate": 0.01}
    stopping = {"monitor": "val_loss", "patience": 5, "start_from_epoch": 25}
    spec["fit"].update(seed=1, early_stopping=stopping | {"restore_best_weights": True})
    experiment_id = pg_stack.submit(spec)
    done = pg_stack.wait_status(experiment_id, {"succeeded", "failed", "cancelled"}, timeout=300)
    assert done["status"] == "succeeded", done["error"]
    stopped = done["stopped_epoch"]
    assert stopped is not None and 25 + 5 < stopped < 2000
    assert (done["current_epoch"], done["epochs_total"]) == (stopped, 2000)
    history = pg_stack.history(experiment_id)
    assert [row["epoch"] for row in history] == list(range(1, stopped + 1))
    assert done["stop_reason"].startswith("early stopping: val_loss did not improve")
    assert done["stop_reason"].endswith("; best weights restored")
    # The reason names the best epoch: the lowest val_loss after the warm-up.
    best = min(history[25:], key=lambda row: row["val_loss"])
    assert f"at epoch {best['epoch']};" in done["stop_reason"]
    assert stopped - best["epoch"] == 5


def test_a_val_monitor_without_validation_data_is_a_422_naming_the_monitor(
    pg_stack: Api,
) -> None:
    spec = circles_spec(epochs=10)
    del spec["dataset"]["n_train"]
    spec["fit"]["early_stopping"] = {"monitor": "val_loss"}
    response = pg_stack.http.post("/experiments", json=spec)
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["path"] == "fit.early_stopping.monitor"
    assert error["type"] == "monitor_needs_validation_data"


def test_the_worker_imported_keras_once_and_every_job_says_how_it_ran(pg_stack: Api) -> None:
    """Runs after the module's other jobs: one pool process imported Keras (on the default
    JAX backend) once, at its start, not once per job; each job records backend and timings."""
    first = pg_stack.submit(circles_spec(epochs=3))
    second = pg_stack.submit(circles_spec(epochs=3))
    for experiment_id in (first, second):
        done = pg_stack.wait_status(experiment_id, {"succeeded", "failed"}, timeout=180)
        assert (done["status"], done["backend"]) == ("succeeded", "jax"), done
        timings = done["timings"]
        assert 0 <= timings["recording_seconds"] <= timings["fit_seconds"]
        assert timings["first_epoch_at"] >= done["started_at"]
    assert pg_stack.logs is not None
    log = (pg_stack.logs / "worker.log").read_text()
    imports = re.findall(r"pool process (\d+) imported Keras \S+ with the (\w+) backend", log)
    assert len(imports) == 1 and imports[0][1] == "jax", imports


def _train_with_generated_client(fitq: ModuleType, client: Any) -> None:
    create, read_one, history_of, model_of, plot = (
        submodule(fitq, name)
        for name in (
            "api.experiments.create_experiment", "api.experiments.get_experiment",
            "api.experiments.get_history", "api.experiments.get_model",
            "api.plots.plot_experiment",
        )
    )  # fmt: skip
    models = submodule(fitq, "models")
    spec = circles_spec(epochs=5, name="generated-client")
    spec["compile"]["optimizer"] = "adam"  # the string form, as the notebooks write it
    created = create.sync(client=client, body=models.ExperimentCreate.from_dict(spec))
    assert isinstance(created, models.ExperimentRead), created

    def read() -> Any:
        return read_one.sync(created.id, client=client)

    done = poll(read, lambda e: e.status in ("succeeded", "failed"), timeout=180)
    assert done.status == "succeeded", done
    history = history_of.sync(created.id, client=client)
    assert [row.epoch for row in history] == [1, 2, 3, 4, 5]
    png = plot.sync(created.id, client=client, metric="accuracy")
    assert png is not None and png.payload.read().startswith(b"\x89PNG\r\n\x1a\n")
    model = model_of.sync(created.id, client=client)
    assert model is not None and model.payload.read().startswith(b"PK")  # a .keras is a zip


def test_a_generated_client_works_unmodified_with_keys(pg_stack: Api, tmp_path: Path) -> None:
    base_url = str(pg_stack.http.base_url).rstrip("/")
    fitq = generate(base_url, tmp_path, "fitq_keys")
    token = pg_stack.http.headers["Authorization"].removeprefix("Bearer ")
    _train_with_generated_client(fitq, fitq.AuthenticatedClient(base_url=base_url, token=token))


def test_a_generated_client_needs_no_key_when_auth_is_disabled(
    pg_stack: Api, tmp_path: Path
) -> None:
    port = free_port()
    env = stack_env(FITQ_AUTH="disabled")
    command = [str(BIN / "python"), "-m", "uvicorn", "api.main:app", "--port", str(port)]
    api = Proc(command, env, tmp_path / "api.log")
    try:
        base_url = f"http://127.0.0.1:{port}"
        Api(base_url).wait_healthy()
        document = httpx.get(f"{base_url}/openapi.json").json()
        assert "securitySchemes" not in document.get("components", {})
        assert not any(
            "security" in op for ops in document["paths"].values() for op in ops.values()
        )
        fitq = generate(base_url, tmp_path, "fitq_open")
        _train_with_generated_client(fitq, fitq.Client(base_url=base_url))
    finally:
        api.stop()
