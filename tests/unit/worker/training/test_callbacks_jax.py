"""A cancel found by the heartbeat thread ends a JAX fit cleanly, whatever step is running."""

import json
import subprocess
import sys

from tests.factories import add_experiment, epoch_rows


def test_cancel_found_during_a_jax_validation_step_stops_cleanly(sqlite_db: str) -> None:
    experiment_id = add_experiment({}, epochs_total=20, status="running")
    done = subprocess.run(
        [sys.executable, "-m", "tests.unit.worker.training.jax_stop_child", str(experiment_id)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    # When the Pulse thread set model.stop_training itself, reading `model` synced donated
    # buffers into the model: the fit raised "Buffer has been deleted or donated".
    assert seen == {"stop_reason": "cancelled", "error": None}
    assert [r.epoch for r in epoch_rows(experiment_id)] == [1]  # epoch 2 was stopped: not recorded
