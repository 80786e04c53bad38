"""A study's numbers: best epochs, metrics there and at the end, mean and std over repeats,
and the study's status derived from its runs."""

import math

import pytest

from api.studies.runs import Run
from api.studies.schemas import StudyStatus
from api.studies.service import study_status
from api.studies.summary import aggregate, best_row, monitor_of, run_summary, stat, summarize
from models.tables import Experiment, ExperimentStatus
from tests.helpers import circles_spec

OK = ExperimentStatus.SUCCEEDED


def curve(val_losses: list[float | None], losses: list[float] | None = None) -> list[dict]:
    """History rows: training loss going down, validation loss as given."""
    losses = losses or [1.0 / (epoch + 1) for epoch in range(len(val_losses))]
    return [
        {"epoch": i + 1, "loss": loss, "accuracy": 0.5 + i / 100, "val_loss": val,
         "val_accuracy": 0.6 + i / 100}
        for i, (loss, val) in enumerate(zip(losses, val_losses, strict=True))
    ]  # fmt: skip


def test_best_epoch_is_the_lowest_val_loss_earliest_on_a_tie_skipping_nulls() -> None:
    history = curve([0.9, None, 0.5, 0.7, 0.5])
    assert monitor_of(history) == "val_loss"
    assert best_row(history, "val_loss") == history[2]


def test_without_validation_the_best_epoch_minimizes_the_training_loss() -> None:
    history = [{"epoch": 1, "loss": 0.8}, {"epoch": 2, "loss": 0.3}, {"epoch": 3, "loss": 0.4}]
    assert monitor_of(history) == "loss"
    summary = run_summary(1, 0, OK, history)
    assert (summary.best_epoch, summary.at_best) == (2, {"loss": 0.3})
    assert summary.final_validation == {}
    assert monitor_of([]) is None and best_row([], None) is None


def test_a_run_reports_best_and_final_metrics() -> None:
    summary = run_summary(7, 2, OK, curve([0.9, 0.4, 0.6]))
    assert (summary.experiment_id, summary.repeat, summary.epochs) == (7, 2, 3)
    assert (summary.best_epoch, summary.monitor) == (2, "val_loss")
    assert summary.at_best == {"val_loss": 0.4, "val_accuracy": 0.61}
    assert summary.final_train == {"loss": 1 / 3, "accuracy": 0.52}
    assert summary.final_validation == {"val_loss": 0.6, "val_accuracy": 0.62}


def test_stat_is_the_mean_and_sample_std_without_nulls() -> None:
    three = stat([1.0, 2.0, None, 3.0])
    assert (three.mean, three.std, three.n) == (2.0, 1.0, 3)
    one = stat([0.25])
    assert (one.mean, one.std, one.n) == (0.25, None, 1)
    assert stat([None]).model_dump() == {"mean": None, "std": None, "n": 0}


def test_a_variant_averages_its_succeeded_repeats_only() -> None:
    runs = [
        run_summary(1, 0, OK, curve([0.9, 0.4, 0.6])),  # best epoch 2
        run_summary(2, 1, OK, curve([0.8, 0.7, 0.5, 0.6])),  # best epoch 3
        run_summary(3, 2, ExperimentStatus.FAILED, curve([0.1])),
        run_summary(4, 3, ExperimentStatus.QUEUED, []),
    ]
    summary = aggregate("baseline", {"model.layers[1].rate": 0.2}, runs)
    assert (summary.runs, summary.finished, summary.succeeded) == (4, 3, 2)
    assert summary.monitor == "val_loss"
    assert summary.best_epoch is not None
    assert (summary.best_epoch.mean, summary.best_epoch.n) == (2.5, 2)
    assert summary.best_epoch.std == pytest.approx(math.sqrt(0.5))
    assert summary.at_best["val_loss"].mean == pytest.approx(0.45)
    assert summary.at_best["val_loss"].std == pytest.approx(math.sqrt(0.005))
    assert summary.final_validation["val_loss"].mean == pytest.approx(0.6)
    assert summary.final_train["loss"].mean == pytest.approx((1 / 3 + 1 / 4) / 2)
    assert [run.experiment_id for run in summary.per_run] == [1, 2, 3, 4]
    assert summary.grid_values == {"model.layers[1].rate": 0.2}


def test_a_variant_with_nothing_finished_has_no_numbers_yet() -> None:
    summary = aggregate("base", None, [run_summary(1, 0, ExperimentStatus.RUNNING, curve([1.0]))])
    assert (summary.best_epoch, summary.monitor, summary.at_best) == (None, None, {})
    assert summary.per_run[0].best_epoch == 1  # a running run's own numbers are shown


def test_summarize_keeps_variant_order_and_diagnoses_each_variant() -> None:
    def run(id_: int, variant: str, repeat: int) -> Run:
        experiment = Experiment(
            id=id_, status="succeeded", variant=variant, repeat=repeat, grid_values=None,
            spec=circles_spec(epochs=2), epochs_total=2,
        )  # fmt: skip
        return Run(experiment, curve([0.5, 0.4]))

    by_variant = {
        "smaller": [run(1, "smaller", 0), run(2, "smaller", 1)],
        "bigger": [run(3, "bigger", 0)],
    }
    summaries = summarize(by_variant)
    assert [s.variant for s in summaries] == ["smaller", "bigger"]
    assert [r.repeat for r in summaries[0].per_run] == [0, 1]
    assert summaries[0].best_epoch is not None and summaries[0].best_epoch.std == 0.0
    # Two epochs are too few for a verdict, and it says so rather than guessing.
    assert [s.diagnosis["verdict"] for s in summaries if s.diagnosis] == ["insufficient_data"] * 2


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ({"queued": 3}, StudyStatus.QUEUED),
        ({"queued": 2, "running": 1}, StudyStatus.RUNNING),
        ({"queued": 1, "succeeded": 1}, StudyStatus.RUNNING),
        ({"running": 1, "failed": 1}, StudyStatus.RUNNING),
        ({"succeeded": 3}, StudyStatus.SUCCEEDED),
        ({"failed": 2}, StudyStatus.FAILED),
        ({"failed": 1, "cancelled": 1}, StudyStatus.FAILED),
        ({"succeeded": 2, "failed": 1}, StudyStatus.PARTIALLY_FAILED),
        ({"succeeded": 2, "failed": 1, "cancelled": 1}, StudyStatus.PARTIALLY_FAILED),
        ({"succeeded": 1, "cancelled": 2}, StudyStatus.CANCELLED),
        ({"cancelled": 2}, StudyStatus.CANCELLED),
    ],
)
def test_study_status_is_derived_from_its_runs(counts: dict, expected: StudyStatus) -> None:
    assert study_status(counts) == expected
