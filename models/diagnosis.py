"""Diagnosis of over- and underfitting from an experiment's history: `diagnose(rows)` takes
history rows as GET /experiments/{id}/history returns them and applies the rules in order, the
first that holds being the verdict. Pure Python and numpy (the API process imports it). The
rules, the numbers reported and the known limits: docs/plots-and-diagnosis.md, "Diagnosis"."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from models import diagnosis_series as ds
from models.diagnosis_advice import advise
from models.diagnosis_types import Diagnosis, EpochGap, ModelFacts, Rules, Verdict

MIN_EPOCHS = 3
DIVERGENCE_FACTOR = 3.0
SMOOTHING_WINDOW = 3
OVERFIT_TOLERANCE = 0.02
OVERFIT_PATIENCE = 3
STEEP_WINDOW = 3
STEEP_DROP = 0.01
HIGH_LOSS_FRACTION = 0.5

RULES = Rules(
    min_epochs=MIN_EPOCHS,
    divergence_factor=DIVERGENCE_FACTOR,
    smoothing_window=SMOOTHING_WINDOW,
    overfit_tolerance=OVERFIT_TOLERANCE,
    overfit_patience=OVERFIT_PATIENCE,
    steep_window=STEEP_WINDOW,
    steep_drop=STEEP_DROP,
    high_loss_fraction=HIGH_LOSS_FRACTION,
)
__all__ = ["RULES", "Diagnosis", "EpochGap", "ModelFacts", "Rules", "Verdict", "diagnose"]


@dataclass(frozen=True)
class _Run:
    """The history read once: the series and facts every rule looks at."""

    rows: list[Mapping[str, Any]]
    loss: ds.Series
    val: ds.Series
    has_validation: bool
    facts: ModelFacts
    rules: Rules

    def at(self, epoch: int) -> EpochGap:
        row = next(r for r in self.rows if r["epoch"] == epoch)
        gaps = ds.gaps(row) if self.has_validation else {}
        return EpochGap(epoch, ds.finite(row.get("loss")), ds.finite(row.get("val_loss")), gaps)

    def drops(self) -> tuple[float | None, float | None]:
        train = ds.drop_per_epoch(self.loss.values, self.rules.steep_window)
        val = ds.drop_per_epoch(self.val.values, self.rules.steep_window)
        return train, val if self.has_validation else None

    def steep(self, values: np.ndarray, drop: float | None) -> bool:
        """Rule 4 for one series: a steep mean fall, and still falling at the last epoch."""
        still_falling = bool(values[-1] < values[-2])
        return drop is not None and drop >= self.rules.steep_drop and still_falling

    def reference(self) -> tuple[float, str]:
        """What "high" training loss is measured against (rule 5)."""
        if self.facts.chance_loss is not None:
            return self.facts.chance_loss, "chance"
        return float(self.loss.values[0]), "first_epoch"


def _read(rows: Sequence[Mapping[str, Any]], facts: ModelFacts, rules: Rules) -> _Run:
    kept = sorted((r for r in rows if "loss" in r), key=lambda r: int(r["epoch"]))
    val = ds.series(kept, "val_loss")
    has_validation = len(val.epochs) >= rules.min_epochs
    return _Run(kept, ds.series(kept, "loss"), val, has_validation, facts, rules)


def _diverged(run: _Run) -> tuple[int, str] | None:
    """Rule 1: the first epoch with a number that is not one, or an exploded training loss."""
    bad = [e for e in (run.loss.first_bad_epoch(), run.val.first_bad_epoch()) if e is not None]
    exploded = ds.exploded_epoch(run.loss, run.rules.divergence_factor)
    if bad and (exploded is None or min(bad) <= exploded):
        return min(bad), f"Diverged at epoch {min(bad)}: the loss is no longer a finite number."
    if exploded is not None:
        times = f"{run.rules.divergence_factor:g} times"
        return exploded, (
            f"Diverged at epoch {exploded}: the training loss rose above {times} its "
            "first-epoch value."
        )
    return None


def _judge(run: _Run, rise: ds.Rise | None) -> tuple[Verdict, str]:
    """Rules 3 to 6, on a run that has neither diverged nor too few epochs."""
    rules = run.rules
    if rise is not None and rise.from_epoch is not None:
        return Verdict.OVERFITTING, (
            f"Overfitting from epoch {rise.from_epoch}: val_loss was lowest at epoch "
            f"{rise.reference_epoch}, then stayed more than {rules.overfit_tolerance:.0%} above "
            "it while the training loss kept falling."
        )
    train_drop, val_drop = run.drops()
    steep_val = not run.has_validation or run.steep(run.val.values, val_drop)
    if run.steep(run.loss.values, train_drop) and steep_val:
        return Verdict.STILL_IMPROVING, (
            "Still improving: the losses were still falling steeply at the last epoch; train "
            "longer."
        )
    reference, kind = run.reference()
    last = float(run.loss.values[-1])
    if last >= rules.high_loss_fraction * reference:
        words = "chance-level" if kind == "chance" else "first-epoch"
        return Verdict.UNDERFITTING, (
            f"Underfitting: the training loss ({last:.4g}) is still {last / reference:.0%} of "
            f"the {words} loss ({reference:.4g}); the model does not fit its training data."
        )
    return Verdict.GOOD_FIT, (
        "Good fit: no sustained rise of val_loss, the losses have levelled off and the "
        "training loss is low."
    )


def _notes(run: _Run, rise: ds.Rise | None, epochs_total: int | None, finished: bool) -> list[str]:
    epochs, notes = len(run.rows), []
    if not finished:
        of = f" of {epochs_total}" if epochs_total is not None else ""
        notes.append(f"Provisional: the run is not finished ({epochs}{of} epochs so far).")
    elif epochs_total is not None and epochs < epochs_total:
        notes.append(f"The run stopped after {epochs} of {epochs_total} epochs.")
    if rise is not None and rise.from_epoch is None and rise.trailing_above:
        notes.append(
            f"val_loss has been above its minimum (epoch {rise.reference_epoch}) for the last "
            f"{rise.trailing_above} epoch(s); overfitting is called after "
            f"{run.rules.overfit_patience}."
        )
    if not run.has_validation and run.rows:
        notes.append("No validation data: best epoch and gaps are on the training loss alone.")
    return notes


def diagnose(
    rows: Sequence[Mapping[str, Any]],
    *,
    epochs_total: int | None = None,
    finished: bool = True,
    facts: ModelFacts | None = None,
    rules: Rules = RULES,
) -> Diagnosis:
    """The verdict, the numbers it rests on and the remedies; the rules are in the module
    docstring. `facts` (layer types, weight penalties, chance-level loss) tune the advice and
    the underfitting reference; `finished` and `epochs_total` tell whether epochs remain."""
    run = _read(rows, facts or ModelFacts(), rules)
    epochs = len(run.rows)
    more_coming = not finished and (epochs_total is None or epochs < epochs_total)
    diverged = _diverged(run) if epochs else None
    rise = None
    if diverged is not None:
        verdict, summary = Verdict.DIVERGED, diverged[1]
    elif epochs < rules.min_epochs:
        verdict = Verdict.INSUFFICIENT_DATA
        summary = f"Only {epochs} finished epoch(s): at least {rules.min_epochs} are needed."
    else:
        if run.has_validation:
            rise = _rise(run)
        verdict, summary = _judge(run, rise)
    return _result(run, verdict, summary, rise, diverged, epochs_total, finished, more_coming)


def _rise(run: _Run) -> ds.Rise:
    train = dict(zip(run.loss.epochs, run.loss.values.tolist(), strict=True))
    rules = run.rules
    return ds.find_rise(
        run.val, train, rules.overfit_tolerance, rules.overfit_patience, rules.smoothing_window
    )


def _result(
    run: _Run,
    verdict: Verdict,
    summary: str,
    rise: ds.Rise | None,
    diverged: tuple[int, str] | None,
    epochs_total: int | None,
    finished: bool,
    more_coming: bool,
) -> Diagnosis:
    """Every number the verdict rests on; those that need enough finite epochs are left null
    for diverged and insufficient_data."""
    judged = verdict not in (Verdict.DIVERGED, Verdict.INSUFFICIENT_DATA)
    monitored = run.val if run.has_validation else run.loss
    best = monitored.epochs[ds.best_index(monitored.values)] if judged else None
    reference, kind = run.reference() if judged else (None, None)
    train_drop, val_drop = run.drops() if judged else (None, None)
    return Diagnosis(
        verdict=verdict,
        summary=summary,
        rules=run.rules,
        epochs=len(run.rows),
        epochs_total=epochs_total,
        finished=finished,
        has_validation=run.has_validation,
        monitor="val_loss" if run.has_validation else "loss",
        best_epoch=best,
        best_value=float(monitored.values.min()) if judged else None,
        overfitting_from_epoch=rise.from_epoch if rise else None,
        diverged_epoch=diverged[0] if diverged else None,
        at_best=run.at(best) if best is not None else None,
        at_last=run.at(run.loss.epochs[-1]) if run.rows else None,
        loss_reference=reference,
        loss_reference_kind=kind,
        train_drop=train_drop,
        val_drop=val_drop,
        notes=_notes(run, rise, epochs_total, finished),
        remedies=advise(
            verdict,
            run.facts,
            best_epoch=best,
            more_epochs_coming=more_coming,
            has_validation=run.has_validation,
        ),
    )
