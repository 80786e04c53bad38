from typing import Any

from api.diagnosis.service import mean_history


def test_mean_history_averages_the_runs_that_reached_each_epoch() -> None:
    first: list[dict[str, Any]] = [
        {"epoch": 1, "loss": 1.0, "val_loss": 2.0},
        {"epoch": 2, "loss": 0.5, "val_loss": None},
    ]
    second: list[dict[str, Any]] = [{"epoch": 1, "loss": 3.0, "val_loss": 4.0}]
    assert mean_history([first, second]) == [
        {"epoch": 1, "loss": 2.0, "val_loss": 3.0},
        {"epoch": 2, "loss": 0.5},
    ]
