"""The `fitq` client commands against a running stack (API and worker on PostgreSQL and
Redis), as a user runs them: FITQ_URL and FITQ_API_KEY in the environment."""

import json
import subprocess
from pathlib import Path

from tests.e2e.stack import BIN, Api, stack_env
from tests.helpers import ROOT, circles_spec


def fitq(api: Api, *args: str) -> subprocess.CompletedProcess[str]:
    token = api.http.headers["Authorization"].removeprefix("Bearer ")
    env = stack_env(FITQ_URL=str(api.http.base_url), FITQ_API_KEY=token, COLUMNS="120")
    return subprocess.run(
        [str(BIN / "fitq"), *args], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=300, check=False,
    )  # fmt: skip


def test_submit_watch_list_show_history_plot_and_cancel(pg_stack: Api, tmp_path: Path) -> None:
    spec = tmp_path / "circles.json"
    spec.write_text(json.dumps(circles_spec(epochs=40)))
    submitted = fitq(pg_stack, "submit", str(spec), "--watch")
    assert submitted.returncode == 0, submitted.stderr
    experiment_id = int(submitted.stdout.split()[0])
    assert "epoch 40 of 40" in submitted.stderr
    assert f"experiment {experiment_id} succeeded" in submitted.stderr
    assert "diagnosis: " in submitted.stderr

    listed = fitq(pg_stack, "ls", "--status", "succeeded")
    assert listed.returncode == 0 and f"│ {experiment_id} " in listed.stdout
    shown = json.loads(fitq(pg_stack, "show", str(experiment_id)).stdout)
    assert (shown["id"], shown["status"]) == (experiment_id, "succeeded")
    rows = json.loads(fitq(pg_stack, "history", str(experiment_id)).stdout)
    assert [row["epoch"] for row in rows] == list(range(1, 41))
    as_csv = fitq(pg_stack, "history", str(experiment_id), "--csv").stdout.splitlines()
    assert as_csv[0].startswith("epoch,") and len(as_csv) == 41
    png = tmp_path / "loss.png"
    assert fitq(pg_stack, "plot", str(experiment_id), "-o", str(png)).returncode == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # Errors print the API's message and exit 2; a run that did not succeed exits 1.
    again = fitq(pg_stack, "cancel", str(experiment_id))
    assert again.returncode == 2
    assert f"experiment {experiment_id} is already succeeded" in again.stderr
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(circles_spec(epochs=0)))
    refused = fitq(pg_stack, "submit", str(bad))
    assert refused.returncode == 2 and "fit.epochs: " in refused.stderr
    diverging = circles_spec(epochs=3000)
    diverging["model"]["layers"][-1] = {"type": "Dense", "units": 1}
    diverging["compile"] = {
        "optimizer": {"name": "sgd", "learning_rate": 10.0},
        "loss": "mean_squared_error",
    }
    spec.write_text(json.dumps(diverging))
    failed = fitq(pg_stack, "submit", str(spec), "--watch")
    assert failed.returncode == 1 and "failed: diverged" in failed.stderr


def test_study_and_recipe_with_watch(pg_stack: Api, tmp_path: Path) -> None:
    request = tmp_path / "study.json"
    request.write_text(json.dumps({"base": circles_spec(epochs=20), "repeats": 2}))
    study = fitq(pg_stack, "study", str(request), "--watch")
    assert study.returncode == 0, study.stderr
    assert "2 of 2 runs finished" in study.stderr and "succeeded" in study.stderr
    recipe = fitq(
        pg_stack, "recipe", "regularization",
        "--dataset", '{"name": "circles", "n_train": 30}', "--epochs", "20", "--watch",
    )  # fmt: skip
    assert recipe.returncode == 0, recipe.stderr
    assert "5 of 5 runs finished" in recipe.stderr
    for variant in ("baseline", "smaller", "bigger", "l2", "dropout"):
        assert f"  {variant}: 1 of 1 succeeded" in recipe.stderr


def test_no_server_is_exit_3_with_a_message(tmp_path: Path) -> None:
    env = stack_env(FITQ_URL="http://127.0.0.1:9", FITQ_API_KEY="x")
    done = subprocess.run(
        [str(BIN / "fitq"), "ls"], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 3 and "no fitq API at http://127.0.0.1:9" in done.stderr
