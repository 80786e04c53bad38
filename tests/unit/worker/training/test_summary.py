"""Dry-run summaries come from the real Keras model our builder makes."""

from models.spec import ExperimentSpec
from tests.helpers import circles_spec
from worker.training.summary import summarize


def test_layer_table_parameters_and_memory_estimate() -> None:
    spec = circles_spec(epochs=10)
    summary = summarize(spec, (2,))
    assert summary["input_shape"] == [None, 2]
    assert [(row["type"], row["output_shape"], row["params"]) for row in summary["layers"]] == [
        ("Dense", [None, 500], 1500),
        ("Dropout", [None, 500], 0),
        ("Dense", [None, 1], 501),
    ]
    assert summary["total_params"] == summary["trainable_params"] == 2001
    assert summary["non_trainable_params"] == 0
    # Adam keeps two slots: weights + gradients + 2 moments = 4 copies of 2,001 floats, plus
    # inputs and activations of one batch of 32, twice (values and gradients).
    batch = ExperimentSpec.model_validate(spec).fit.batch_size
    assert summary["estimated_memory_bytes"] == 4 * 2001 * 4 + 2 * batch * (2 + 500 + 500 + 1) * 4
