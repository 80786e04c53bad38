"""What fitq keeps in the artifact store, by key: uploads (content-addressed), and each
experiment's checkpoints while it runs and its final model after. Shared by the API
(uploads, downloads, deletes) and the worker (writes); never imports Keras."""

import logging
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from models.settings import get_settings
from models.store import get_store

FINAL_MODEL = "model.keras"
_CHECKPOINT = re.compile(r"^epoch-(\d{6,})\.keras$")
log = logging.getLogger(__name__)


def dataset_key(address: str) -> str:
    """An upload under its content address: the same content is one object."""
    return f"datasets/{address}.npz"


def experiment_prefix(experiment_id: int) -> str:
    return f"experiments/{experiment_id}/"


def final_model_key(experiment_id: int) -> str:
    return experiment_prefix(experiment_id) + FINAL_MODEL


def checkpoint_key(experiment_id: int, epoch: int) -> str:
    """The epoch is in the key, so a checkpoint and its epoch can never disagree."""
    return experiment_prefix(experiment_id) + f"checkpoints/epoch-{epoch:06d}.keras"


def checkpoints(experiment_id: int) -> list[tuple[int, str]]:
    """(epoch, key) of every stored checkpoint, oldest first."""
    found = []
    for key in get_store().list(experiment_prefix(experiment_id) + "checkpoints/"):
        match = _CHECKPOINT.match(key.rsplit("/", 1)[-1])
        if match:
            found.append((int(match.group(1)), key))
    return sorted(found)


def latest_checkpoint(experiment_id: int) -> tuple[int, str] | None:
    found = checkpoints(experiment_id)
    return found[-1] if found else None


def prune_checkpoints(experiment_id: int, keep_last: int) -> None:
    found = checkpoints(experiment_id)
    store = get_store()
    for _, key in found[: max(0, len(found) - keep_last)]:
        store.delete(key)


def drop_checkpoints(experiment_id: int) -> None:
    get_store().delete_prefix(experiment_prefix(experiment_id) + "checkpoints/")


def delete_experiments(experiment_ids: Iterable[int]) -> None:
    """Every object of these experiments. Called after their rows are committed gone: a
    store that fails here leaves objects no row points to, logged, not a failed request."""
    for experiment_id in experiment_ids:
        _quietly(get_store().delete_prefix, experiment_prefix(experiment_id))


def delete_upload(key: str) -> None:
    """An upload's object, once no row names it (after the commit, as above)."""
    _quietly(get_store().delete, key)


def _quietly(delete: Callable[[str], None], key: str) -> None:
    try:
        delete(key)
    except Exception:
        log.exception("the artifact store did not delete %s; it is left behind", key)


@contextmanager
def scratch() -> Iterator[Path]:
    """A temporary folder on this machine (under FITQ_DATA_DIR/tmp) for a file on its way
    into or out of the store: Keras saves and loads files, the store keeps objects."""
    parent = get_settings().data_dir / "tmp"
    parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=parent) as folder:
        yield Path(folder)
