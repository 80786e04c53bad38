"""End to end: upload a CSV over HTTP and train on it in a real worker process."""

from tests.e2e.stack import Api
from tests.helpers import diabetes_csv, diabetes_spec


def test_upload_a_csv_and_train_on_it(pg_stack: Api) -> None:
    response = pg_stack.http.post(
        "/datasets", files={"file": ("diabetes.csv", diabetes_csv(50), "text/csv")}
    )
    assert response.status_code == 201, response.text
    dataset = response.json()
    assert (dataset["rows"], dataset["features"], dataset["classes"]) == (50, 8, [0, 1])

    experiment_id = pg_stack.submit(diabetes_spec(dataset["id"], epochs=3))
    done = pg_stack.wait_status(experiment_id, {"succeeded", "failed"}, timeout=180)
    assert done["status"] == "succeeded", done
    history = pg_stack.history(experiment_id)
    assert [row["epoch"] for row in history] == [1, 2, 3]
    assert {"loss", "val_loss", "accuracy", "val_accuracy"} <= history[0].keys()
