"""The diagnosis rules on the five IMDB logs of TensorFlow's overfit-and-underfit notebook
(tests/fixtures/imdb_notebook, parsed from the notebook's printed Keras logs) and on synthetic
curves, one for each verdict."""

import math
from typing import Any

import pytest

from models.diagnosis import diagnose
from models.diagnosis_types import ModelFacts, Verdict
from tests.helpers import notebook_log

NAMES = ("baseline", "smaller", "bigger", "l2", "dropout")
# The notebook's models: Dense layers, sigmoid output, binary crossentropy.
IMDB = ModelFacts(layer_types=frozenset({"Dense"}), chance_loss=math.log(2))


def lowest(rows: list[dict[str, Any]], key: str) -> int:
    """The epoch with the smallest value, computed here without the module under test."""
    return min(rows, key=lambda row: row[key])["epoch"]


def curve(loss: list[float], val: list[float] | None = None) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = [{"epoch": i + 1, "loss": x} for i, x in enumerate(loss)]
    for row, value in zip(rows, val or [], strict=False):
        row["val_loss"] = value
    return rows


def codes(rows: list[dict[str, Any]], **kwargs: Any) -> list[str]:
    return [remedy.code for remedy in diagnose(rows, **kwargs).remedies]


def test_fixtures_hold_the_notebooks_twenty_epochs() -> None:
    for name in NAMES:
        rows = notebook_log(name)
        assert [row["epoch"] for row in rows] == list(range(1, 21)), name
        assert {"loss", "accuracy", "binary_crossentropy", "val_loss", "val_accuracy"} <= set(
            rows[0]
        )
    assert notebook_log("baseline")[0]["val_loss"] == 0.3794
    assert notebook_log("bigger")[5]["loss"] == 2.8322e-04


@pytest.mark.parametrize(
    ("name", "best", "from_epoch"),
    [("bigger", 1, 2), ("baseline", 3, 4), ("smaller", 11, 12), ("l2", 2, 3), ("dropout", 5, 6)],
)
def test_every_notebook_model_overfits_from_the_epoch_after_its_best(
    name: str, best: int, from_epoch: int
) -> None:
    rows = notebook_log(name)
    result = diagnose(rows, epochs_total=20, facts=IMDB)
    assert result.verdict is Verdict.OVERFITTING
    assert result.best_epoch == best == lowest(rows, "val_loss")
    assert result.best_value == min(row["val_loss"] for row in rows)
    assert result.overfitting_from_epoch == from_epoch
    assert f"from epoch {from_epoch}" in result.summary
    assert result.notes == []


def test_bigger_overfits_at_once_baseline_after_a_few_epochs_smaller_later() -> None:
    # The notebook: "the bigger network starts overfitting after just one epoch"; the smaller
    # one later than the baseline (epoch 12 against 4 in these logs).
    start = {name: diagnose(notebook_log(name)).overfitting_from_epoch or 0 for name in NAMES}
    assert start["bigger"] == 2
    assert start["bigger"] < start["baseline"] <= 5 < start["smaller"]


def test_l2_and_dropout_resist_overfitting_better_than_the_baseline() -> None:
    # What the logs show: both end with about half the baseline's loss gap (0.43 and 0.48
    # against 0.85) and a smaller accuracy gap; dropout also starts overfitting later (epoch 6
    # against 4), while L2 starts one epoch earlier (3) but its val_loss climbs more slowly.
    last = {name: diagnose(notebook_log(name)).at_last for name in NAMES}
    start = {name: diagnose(notebook_log(name)).overfitting_from_epoch or 0 for name in NAMES}
    baseline = last["baseline"]
    assert baseline is not None
    for name in ("l2", "dropout"):
        gap = last[name]
        assert gap is not None
        assert gap.gaps["loss"] < 0.6 * baseline.gaps["loss"], name
        assert gap.gaps["accuracy"] < baseline.gaps["accuracy"], name
        assert gap.val_loss is not None and baseline.val_loss is not None
        assert gap.val_loss < baseline.val_loss, name
    assert start["dropout"] > start["baseline"]
    assert start["l2"] == start["baseline"] - 1


def test_gaps_at_the_best_and_last_epochs_match_the_log() -> None:
    result = diagnose(notebook_log("baseline"))
    assert result.at_best is not None and result.at_last is not None
    assert (result.at_best.epoch, result.at_best.loss, result.at_best.val_loss) == (
        3,
        0.1955,
        0.284,
    )
    assert result.at_best.gaps == {
        "loss": pytest.approx(0.2840 - 0.1955),
        "binary_crossentropy": pytest.approx(0.2840 - 0.1955),
        "accuracy": pytest.approx(0.9320 - 0.8882),  # train - val: positive is worse on val
    }
    assert result.at_last.epoch == 20
    assert result.at_last.gaps["loss"] == pytest.approx(0.8565 - 0.0036)
    # L2's loss carries the weight penalty; its crossentropy gap is the bare one.
    l2 = diagnose(notebook_log("l2")).at_last
    assert l2 is not None
    assert l2.gaps["binary_crossentropy"] == pytest.approx(0.4997 - 0.0671)


def test_a_rise_shorter_than_the_patience_is_a_note_not_a_verdict() -> None:
    early = diagnose(notebook_log("bigger")[:3], epochs_total=20, finished=False)
    assert early.verdict is Verdict.GOOD_FIT
    assert early.overfitting_from_epoch is None
    assert any("for the last 2 epoch(s)" in note for note in early.notes)
    assert any("Provisional" in note for note in early.notes)
    assert diagnose(notebook_log("bigger")[:4]).overfitting_from_epoch == 2


def test_overfitting_remedies_follow_the_notebooks_and_what_the_model_has() -> None:
    rows = notebook_log("bigger")
    assert codes(rows, facts=IMDB) == [
        "early_stopping", "more_data", "reduce_capacity", "weight_regularization", "dropout",
    ]  # fmt: skip
    regularized = ModelFacts(
        layer_types=frozenset({"Dense", "Dropout"}), weight_penalty=True, early_stopping=True
    )
    assert codes(rows, facts=regularized) == [
        "more_data", "reduce_capacity", "stronger_weight_regularization", "stronger_dropout",
    ]  # fmt: skip
    text = diagnose(rows).remedies[0].text
    assert "best epoch (1)" in text


def test_flat_high_loss_is_underfitting() -> None:
    rows = curve(
        [0.70, 0.69, 0.688, 0.687, 0.687, 0.686], [0.70, 0.695, 0.694, 0.693, 0.693, 0.692]
    )
    result = diagnose(rows, facts=IMDB)
    assert result.verdict is Verdict.UNDERFITTING
    assert (result.loss_reference_kind, result.loss_reference) == ("chance", math.log(2))
    assert codes(rows) == ["more_capacity", "more_epochs", "higher_learning_rate"]
    with_dropout = ModelFacts(layer_types=frozenset({"Dropout"}))
    assert "less_regularization" in codes(rows, facts=with_dropout)
    # Without a chance level the first epoch's loss is the reference.
    assert diagnose(rows).loss_reference_kind == "first_epoch"


def test_both_losses_falling_steeply_is_still_improving() -> None:
    rows = curve([1.0, 0.9, 0.8, 0.7, 0.6], [1.05, 0.95, 0.85, 0.75, 0.66])
    result = diagnose(rows, epochs_total=5)
    assert result.verdict is Verdict.STILL_IMPROVING
    assert result.train_drop == pytest.approx(0.1)
    assert codes(rows, epochs_total=5) == ["more_epochs", "higher_learning_rate"]
    running = codes(rows, epochs_total=50, finished=False)
    assert running == ["keep_training", "higher_learning_rate"]


@pytest.mark.parametrize(
    ("loss", "val", "epoch"),
    [
        ([0.7, 0.5, None, None], [0.7, 0.5, None, None], 3),  # NaN is stored as null
        ([0.7, 0.5, 0.4, math.inf], [0.7, 0.5, 0.45, 0.5], 4),
        ([0.7, 0.5, 0.4, 0.6], [0.7, 0.5, math.nan, 0.5], 3),  # val_loss alone
        ([0.7, 0.5, 2.5, 9.0], [0.7, 0.6, 2.6, 9.1], 3),  # above 3 times epoch 1's loss
        ([None], [None], 1),  # diverged beats insufficient_data
    ],
)
def test_nan_or_exploding_loss_is_diverged(loss: list, val: list, epoch: int) -> None:
    result = diagnose(curve(loss, val))
    assert result.verdict is Verdict.DIVERGED
    assert result.diverged_epoch == epoch
    assert f"epoch {epoch}" in result.summary
    assert [r.code for r in result.remedies] == ["lower_learning_rate", "scale_inputs"]


def test_levelled_off_low_loss_is_a_good_fit() -> None:
    loss = [0.6, 0.4, 0.3, 0.25, 0.24, 0.235, 0.233, 0.232]
    val = [0.62, 0.42, 0.33, 0.29, 0.281, 0.279, 0.279, 0.2785]
    result = diagnose(curve(loss, val), facts=IMDB)
    assert result.verdict is Verdict.GOOD_FIT
    assert result.best_epoch == 8
    assert result.remedies == []


def test_too_few_epochs_is_insufficient_data() -> None:
    two = diagnose(curve([0.7, 0.5], [0.7, 0.6]), epochs_total=20)
    assert two.verdict is Verdict.INSUFFICIENT_DATA
    assert two.best_epoch is None
    assert two.at_last is not None and two.at_last.epoch == 2
    assert [r.code for r in two.remedies] == ["more_epochs"]
    nothing = diagnose([], epochs_total=20, finished=False)
    assert nothing.verdict is Verdict.INSUFFICIENT_DATA
    assert (nothing.epochs, nothing.at_last, nothing.remedies) == (0, None, [])


@pytest.mark.parametrize(
    ("val", "best"),
    [
        # One noisy epoch up, in the middle and at the very end.
        ([0.62, 0.42, 0.33, 0.29, 0.40, 0.279, 0.279, 0.2785], 8),
        ([0.62, 0.42, 0.33, 0.29, 0.281, 0.279, 0.279, 0.35], 6),
        # One noisy epoch down: the raw best, but no rise to call overfitting from.
        ([0.62, 0.42, 0.33, 0.29, 0.20, 0.279, 0.279, 0.2785], 5),
    ],
)
def test_one_noisy_epoch_does_not_make_overfitting(val: list[float], best: int) -> None:
    loss = [0.6, 0.4, 0.3, 0.25, 0.24, 0.235, 0.233, 0.232]
    result = diagnose(curve(loss, val), facts=IMDB)
    assert result.verdict is Verdict.GOOD_FIT
    assert result.overfitting_from_epoch is None
    assert result.best_epoch == best


def test_rising_together_is_not_overfitting() -> None:
    rows = curve([0.5, 0.4, 0.3, 0.35, 0.4, 0.45], [0.55, 0.45, 0.35, 0.4, 0.45, 0.5])
    assert diagnose(rows).verdict is not Verdict.OVERFITTING


def test_without_validation_the_training_loss_is_judged_alone() -> None:
    levelled = [0.6, 0.4, 0.3, 0.25, 0.245, 0.243, 0.2425, 0.2424]
    result = diagnose(curve(levelled), facts=IMDB)
    assert result.verdict is Verdict.GOOD_FIT
    assert (result.has_validation, result.monitor, result.best_epoch) == (False, "loss", 8)
    assert result.at_last is not None and result.at_last.gaps == {}
    assert result.val_drop is None
    assert [r.code for r in result.remedies] == ["validation_data"]
    assert any("No validation data" in note for note in result.notes)
    # Validation on fewer than min_epochs rows (validation_freq) does not count either.
    sparse = curve(levelled, [0.5, 0.45])
    assert diagnose(sparse).has_validation is False


def test_rules_and_progress_are_reported() -> None:
    result = diagnose(notebook_log("smaller")[:15], epochs_total=20)
    assert result.rules.overfit_patience == 3 and result.rules.overfit_tolerance == 0.02
    assert result.notes[0] == "The run stopped after 15 of 20 epochs."
    assert result.epochs == 15 and result.finished is True


@pytest.mark.parametrize(
    "val",
    [
        # A sharp bottom at epoch 7 whose median sits one epoch early: the summary once said
        # "lowest at epoch 6, overfitting from epoch 7" while best_epoch was 7.
        [1.0, 0.8, 0.6, 0.5, 0.31, 0.40, 0.30, 0.35, 0.45, 0.5, 0.55, 0.6],
        # One low epoch (4) before a longer fall to a smoothed bottom at epochs 7-8.
        [1.0, 0.8, 0.5, 0.2, 0.5, 0.45, 0.3, 0.31, 0.32, 0.45, 0.5, 0.55],
    ],
)
def test_the_summary_the_verdict_and_the_remedies_name_one_best_epoch(val: list[float]) -> None:
    loss = [0.9 - 0.05 * epoch for epoch in range(len(val))]
    rows = curve(loss, val)
    result = diagnose(rows, facts=IMDB)
    best = lowest(rows, "val_loss")
    assert result.verdict is Verdict.OVERFITTING
    assert result.best_epoch == best
    assert f"lowest at epoch {best}," in result.summary
    assert result.overfitting_from_epoch is not None and result.overfitting_from_epoch > best
    stop = next(r for r in result.remedies if r.code == "early_stopping")
    assert f"best epoch ({best})" in stop.text
