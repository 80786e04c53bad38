"""Server limits on a spec, and the memory estimate the API and the worker share."""

import pytest

from models import shapes
from models.limits import problems
from models.memory import estimate_from_layers
from models.settings import Settings
from models.spec import ExperimentSpec
from tests.helpers import circles_spec
from worker.training.summary import summarize


def spec_of(**fit: int) -> ExperimentSpec:
    document = circles_spec(epochs=10)
    document["fit"].update(fit)
    return ExperimentSpec.model_validate(document)


def test_pure_python_memory_estimate_equals_the_dry_runs() -> None:
    for batch_size in (1, 32, 1000):
        spec = spec_of(batch_size=batch_size)
        layers = shapes.infer((2,), spec.model.layers)
        ours = estimate_from_layers((2,), layers, spec.compile.optimizer.name, batch_size)
        assert ours == summarize(spec.model_dump(mode="json"), (2,))["estimated_memory_bytes"]


def test_within_the_defaults_nothing_is_reported() -> None:
    assert problems(spec_of(), (2,), Settings()) == []


@pytest.mark.parametrize(
    ("setting", "value", "loc", "msg"),
    [
        ("max_parameters", 2000, ("model",), "the model has 2,001 parameters; this server "
         "allows at most 2,000 parameters (FITQ_MAX_PARAMETERS)"),
        ("max_memory_bytes", 1024**2, ("model",), "training is estimated to need 160,016 "
         "bytes; this server allows at most 1,048,576 bytes (FITQ_MAX_MEMORY_BYTES)"),
        ("max_epochs", 9, ("fit", "epochs"),
         "fit.epochs is 10; this server allows at most 9 (FITQ_MAX_EPOCHS)"),
        ("max_batch_size", 16, ("fit", "batch_size"),
         "fit.batch_size is 32; this server allows at most 16 (FITQ_MAX_BATCH_SIZE)"),
        ("max_dataset_rows", 99, ("dataset", "n_samples"), "the dataset has 100 samples; "
         "this server allows at most 99 samples (FITQ_MAX_DATASET_ROWS)"),
    ],
)  # fmt: skip
def test_each_limit_names_itself_and_its_value(
    setting: str, value: int, loc: tuple[str, ...], msg: str
) -> None:
    spec = spec_of(batch_size=1000 if setting == "max_memory_bytes" else 32)
    if setting == "max_memory_bytes":
        msg = msg.replace("160,016", f"{estimate_of(spec):,}")
    found = problems(spec, (2,), Settings(**{setting: value}))  # type: ignore[arg-type]
    assert [(p.loc, p.msg) for p in found] == [(loc, msg)]


def estimate_of(spec: ExperimentSpec) -> int:
    layers = shapes.infer((2,), spec.model.layers)
    return estimate_from_layers((2,), layers, spec.compile.optimizer.name, spec.fit.batch_size)


def test_model_limits_wait_for_a_known_input_shape() -> None:
    tight = Settings(max_parameters=1, max_memory_bytes=1024**2, max_epochs=1)
    assert [p.loc for p in problems(spec_of(), None, tight)] == [("fit", "epochs")]
