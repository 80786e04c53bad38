"""Experiments and studies with (loss, val_loss) curves, as the plot tests draw them: owned by
the `client` fixture's caller, made with the factories, histories written as the worker does."""

from typing import Any

from tests.factories import add_experiment, add_study, record_epochs
from tests.helpers import circles_spec
from tests.integration.conftest import OWNER

Curve = list[tuple[float, float]]  # (loss, val_loss) per epoch


def curve_experiment(
    name: str | None = None,
    study_id: int | None = None,
    variant: str | None = None,
    repeat: int | None = None,
    grid: dict[str, Any] | None = None,
) -> int:
    return add_experiment(
        circles_spec(epochs=20), owner=OWNER, name=name, study_id=study_id, variant=variant,
        repeat=repeat, grid_values=grid,
    )  # fmt: skip


def write_curve(experiment_id: int, curve: Curve, extra: dict[str, float] | None = None) -> None:
    log = [
        {"epoch": epoch, "loss": loss, "val_loss": val_loss, **(extra or {})}
        for epoch, (loss, val_loss) in enumerate(curve, start=1)
    ]
    record_epochs(experiment_id, log)


def curve_study(name: str | None, runs: list[tuple[str, dict[str, Any] | None, Curve]]) -> int:
    """runs: (variant, grid values, curve); repeats of a variant count up in order."""
    study_id = add_study(owner=OWNER, name=name)
    repeats: dict[str, int] = {}
    for variant, grid, curve in runs:
        repeats[variant] = repeats.get(variant, -1) + 1
        experiment_id = curve_experiment(variant, study_id, variant, repeats[variant], grid)
        if curve:
            write_curve(experiment_id, curve)
    return study_id
