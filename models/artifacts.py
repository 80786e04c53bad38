"""Where an experiment's files live: checkpoints while it runs, its final model after.
Shared by the API (downloads) and the worker (writes); never imports Keras."""

import re
import shutil
from pathlib import Path

from models.settings import get_settings

FINAL_MODEL = "model.keras"
_CHECKPOINT = re.compile(r"^epoch-(\d{6,})\.keras$")


def experiment_dir(experiment_id: int) -> Path:
    return get_settings().artifacts_path / "experiments" / str(experiment_id)


def final_model_path(experiment_id: int) -> Path:
    return experiment_dir(experiment_id) / FINAL_MODEL


def checkpoint_path(experiment_id: int, epoch: int) -> Path:
    """The epoch is in the name, so a checkpoint file and its epoch can never disagree."""
    return experiment_dir(experiment_id) / "checkpoints" / f"epoch-{epoch:06d}.keras"


def checkpoints(experiment_id: int) -> list[tuple[int, Path]]:
    """(epoch, path) of every complete checkpoint, oldest first (temp files do not match)."""
    folder = experiment_dir(experiment_id) / "checkpoints"
    if not folder.is_dir():
        return []
    found = [(_CHECKPOINT.match(p.name), p) for p in folder.iterdir()]
    return sorted((int(m.group(1)), p) for m, p in found if m)


def latest_checkpoint(experiment_id: int) -> tuple[int, Path] | None:
    found = checkpoints(experiment_id)
    return found[-1] if found else None


def prune_checkpoints(experiment_id: int, keep_last: int) -> None:
    found = checkpoints(experiment_id)
    for _, path in found[: max(0, len(found) - keep_last)]:
        path.unlink(missing_ok=True)


def drop_checkpoints(experiment_id: int) -> None:
    shutil.rmtree(experiment_dir(experiment_id) / "checkpoints", ignore_errors=True)
