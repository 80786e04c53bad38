"""Server limits on a spec, from settings: parameters, estimated training memory, epochs,
batch size and a generated dataset's samples. Pure Python (no Keras), so the API applies
them at submit time; each problem names the limit, its value and its setting."""

from collections.abc import Sequence
from dataclasses import dataclass

from models import shapes
from models.memory import estimate_from_layers
from models.settings import Settings
from models.spec import ExperimentSpec

LIMIT_EXCEEDED = "limit_exceeded"


@dataclass(frozen=True)
class LimitProblem:
    loc: tuple[str, ...]  # where in the spec, e.g. ("fit", "epochs")
    msg: str


def _over(what: str, value: int, most: int, setting: str, unit: str = "") -> str:
    # e.g. "the model has 12,345,678 parameters; this server allows at most 10,000,000
    # parameters (FITQ_MAX_PARAMETERS)"
    return f"{what} {value:,}{unit}; this server allows at most {most:,}{unit} (FITQ_{setting})"


def problems(
    spec: ExperimentSpec, input_shape: Sequence[int] | None, settings: Settings
) -> list[LimitProblem]:
    """Every limit the spec passes, in the order of the spec's fields. The model's limits
    need its input shape; None (unknown here) skips them, the worker's build still checks."""
    found: list[LimitProblem] = []
    rows = getattr(spec.dataset, "n_samples", None)  # generated datasets; uploads are
    # checked against the same limit when they are uploaded
    if isinstance(rows, int) and rows > settings.max_dataset_rows:
        msg = _over(
            "the dataset has", rows, settings.max_dataset_rows, "MAX_DATASET_ROWS", " samples"
        )
        found.append(LimitProblem(("dataset", "n_samples"), msg))
    if input_shape is not None:
        layers = shapes.infer(input_shape, spec.model.layers)
        params = sum(layer.params for layer in layers)
        if params > settings.max_parameters:
            msg = _over(
                "the model has", params, settings.max_parameters, "MAX_PARAMETERS", " parameters"
            )
            found.append(LimitProblem(("model",), msg))
        memory = estimate_from_layers(
            input_shape, layers, spec.compile.optimizer.name, spec.fit.batch_size
        )
        if memory > settings.max_memory_bytes:
            msg = _over(
                "training is estimated to need", memory, settings.max_memory_bytes,
                "MAX_MEMORY_BYTES", " bytes",
            )  # fmt: skip
            found.append(LimitProblem(("model",), msg))
    if spec.fit.epochs > settings.max_epochs:
        msg = _over("fit.epochs is", spec.fit.epochs, settings.max_epochs, "MAX_EPOCHS")
        found.append(LimitProblem(("fit", "epochs"), msg))
    if spec.fit.batch_size > settings.max_batch_size:
        size, most = spec.fit.batch_size, settings.max_batch_size
        msg = _over("fit.batch_size is", size, most, "MAX_BATCH_SIZE")
        found.append(LimitProblem(("fit", "batch_size"), msg))
    return found
