"""The allow-listed layers: what each accepts, its defaults, and a named error for each bound."""

from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from models import spec_layers as sl
from models.spec import ExperimentSpec
from tests.helpers import circles_spec

LAYER: TypeAdapter[sl.Layer] = TypeAdapter(sl.Layer)


def errors_of(layer: dict[str, Any]) -> list[tuple[tuple[Any, ...], str]]:
    with pytest.raises(ValidationError) as info:
        LAYER.validate_python(layer)
    return [(err["loc"], err["msg"]) for err in info.value.errors()]


@pytest.mark.parametrize(
    ("layer", "expected"),
    [
        ({"type": "Conv1D", "filters": 32, "kernel_size": 7}, {"strides": 1, "padding": "valid"}),
        ({"type": "Conv2D", "filters": 32, "kernel_size": 3}, {"kernel_size": (3, 3)}),
        (
            {
                "type": "Conv2D",
                "filters": 8,
                "kernel_size": [5, 3],
                "strides": 2,
                "padding": "same",
                "activation": "relu",
                "use_bias": False,
                "kernel_regularizer": {"l2": 0.001},
                "kernel_constraint": {"max_norm": 3},
            },
            {"kernel_size": (5, 3), "strides": (2, 2), "use_bias": False},
        ),
        ({"type": "MaxPooling1D"}, {"pool_size": 2, "strides": None, "padding": "valid"}),
        ({"type": "MaxPooling2D", "pool_size": 3, "strides": [1, 2]}, {"strides": (1, 2)}),
        ({"type": "MaxPooling2D"}, {"pool_size": (2, 2)}),
        ({"type": "SpatialDropout1D", "rate": 0.2}, {"seed": None}),
        ({"type": "SpatialDropout2D", "rate": 0.5, "seed": 7}, {"seed": 7}),
        ({"type": "SpatialDropout3D", "rate": 0.0}, {"rate": 0.0}),
        (
            {"type": "LSTM", "units": 32, "dropout": 0.5, "recurrent_dropout": 0.5},
            {"activation": "tanh", "recurrent_activation": "sigmoid", "return_sequences": False},
        ),
        (
            {
                "type": "GRU",
                "units": 8,
                "return_sequences": True,
                "kernel_regularizer": {"l1": 0.01},
                "recurrent_regularizer": {"l2": 0.01},
            },
            {"return_sequences": True},
        ),
        ({"type": "Embedding", "input_dim": 10000, "output_dim": 16}, {"mask_zero": False}),
        (
            {"type": "BatchNormalization"},
            {"momentum": 0.99, "epsilon": 0.001, "center": True, "scale": True},
        ),
        ({"type": "GlobalAveragePooling1D"}, {}),
        ({"type": "GlobalAveragePooling2D"}, {}),
        ({"type": "GlobalMaxPooling1D"}, {}),
        ({"type": "GlobalMaxPooling2D"}, {}),
        ({"type": "Dropout", "rate": 0.2}, {"seed": None}),
    ],
)
def test_valid_layers_and_their_defaults(layer: dict[str, Any], expected: dict[str, Any]) -> None:
    parsed = LAYER.validate_python(layer)
    assert type(parsed).__name__ == layer["type"]
    for field, value in expected.items():
        assert getattr(parsed, field) == value, field
    # What the API stores reads back as the same layer (pairs are stored as [h, w]).
    assert LAYER.validate_python(parsed.model_dump(mode="json")) == parsed


@pytest.mark.parametrize(
    ("layer", "where", "says"),
    [
        ({"type": "Conv1D", "filters": 0, "kernel_size": 3}, ("filters",), "greater than"),
        ({"type": "Conv1D", "filters": 5000, "kernel_size": 3}, ("filters",), "less than"),
        ({"type": "Conv1D", "filters": 4, "kernel_size": 0}, ("kernel_size",), "greater than"),
        ({"type": "Conv1D", "filters": 4, "kernel_size": [3, 3]}, ("kernel_size",), "integer"),
        ({"type": "Conv2D", "filters": 4, "kernel_size": [3]}, ("kernel_size", 1), "required"),
        ({"type": "Conv2D", "filters": 4, "kernel_size": [3, 300]}, ("kernel_size", 1), "less"),
        ({"type": "Conv2D", "filters": 4, "kernel_size": 3, "strides": 0}, ("strides", 0),
         "greater"),
        ({"type": "Conv2D", "filters": 4, "kernel_size": 3, "padding": "causal"}, ("padding",),
         "'valid' or 'same'"),
        ({"type": "Conv2D", "filters": 4, "kernel_size": 3, "activation": "relux"},
         ("activation",), "'relu'"),
        ({"type": "Conv2D", "filters": 4, "kernel_size": 3, "kernel_constraint": {"max_norm": 0}},
         ("kernel_constraint", "max_norm"), "greater than 0"),
        ({"type": "Conv2D", "filters": 4, "kernel_size": 3, "kernel_constraint":
          {"max_norm": 2, "axis": 0}}, ("kernel_constraint", "axis"), "Extra inputs"),
        ({"type": "Conv2D", "filters": 4, "kernel_size": 3, "dilation_rate": 2},
         ("dilation_rate",), "Extra inputs"),
        ({"type": "MaxPooling1D", "pool_size": 0}, ("pool_size",), "greater than"),
        ({"type": "MaxPooling2D", "strides": [1, 0]}, ("strides", 1), "greater than"),
        ({"type": "SpatialDropout2D", "rate": 1.0}, ("rate",), "less than 1"),
        ({"type": "SpatialDropout1D", "rate": -0.1}, ("rate",), "greater than or equal to 0"),
        ({"type": "SpatialDropout3D"}, ("rate",), "required"),
        ({"type": "LSTM", "units": 0}, ("units",), "greater than"),
        ({"type": "LSTM", "units": 4, "recurrent_dropout": 1}, ("recurrent_dropout",), "less"),
        ({"type": "GRU", "units": 4, "dropout": -1}, ("dropout",), "greater than"),
        ({"type": "GRU", "units": 4, "recurrent_activation": "hard_silu"},
         ("recurrent_activation",), "'sigmoid'"),
        ({"type": "LSTM", "units": 4, "recurrent_regularizer": {"l2": 0}},
         ("recurrent_regularizer",), "give l1, l2 or both"),
        ({"type": "LSTM", "units": 4, "unroll": True}, ("unroll",), "Extra inputs"),
        ({"type": "Embedding", "input_dim": 0, "output_dim": 8}, ("input_dim",), "greater"),
        ({"type": "Embedding", "input_dim": 10, "output_dim": 5000}, ("output_dim",), "less"),
        ({"type": "Embedding", "input_dim": 10, "output_dim": 8, "input_length": 500},
         ("input_length",), "Extra inputs"),
        ({"type": "BatchNormalization", "momentum": 1.0}, ("momentum",), "less than 1"),
        ({"type": "BatchNormalization", "epsilon": 0}, ("epsilon",), "greater than 0"),
        ({"type": "BatchNormalization", "axis": 1}, ("axis",), "Extra inputs"),
        ({"type": "GlobalMaxPooling2D", "keepdims": True}, ("keepdims",), "Extra inputs"),
        ({"type": "Dense", "units": 4, "kernel_constraint": {"max_norm": 2, "axis": 2}},
         ("kernel_constraint", "axis"), "less than or equal to 1"),
    ],
)  # fmt: skip
def test_each_bound_is_named(layer: dict[str, Any], where: tuple[Any, ...], says: str) -> None:
    errors = errors_of(layer)
    assert any(loc == (layer["type"], *where) and says in msg for loc, msg in errors), errors


def test_unknown_layer_types_list_the_allowed_ones() -> None:
    [(_, msg)] = errors_of({"type": "Conv3D", "filters": 4, "kernel_size": 3})
    for name in ("Conv1D", "Conv2D", "LSTM", "GRU", "Embedding", "SpatialDropout3D"):
        assert name in msg


def test_a_whole_text_spec_with_the_new_layers() -> None:
    spec = circles_spec(dataset={"name": "imdb", "encoding": "sequence", "maxlen": 200})
    spec["model"]["layers"] = [
        {"type": "Embedding", "input_dim": 10000, "output_dim": 32, "mask_zero": True},
        {"type": "SpatialDropout1D", "rate": 0.2},
        {"type": "LSTM", "units": 32, "dropout": 0.5, "recurrent_dropout": 0.5},
        {"type": "Dense", "units": 1, "activation": "sigmoid"},
    ]
    parsed = ExperimentSpec.model_validate(spec)
    assert parsed.dataset.input_shape == (200,)
    assert [type(layer) for layer in parsed.model.layers] == [
        sl.Embedding,
        sl.SpatialDropout1D,
        sl.LSTM,
        sl.Dense,
    ]


def test_embedding_must_cover_the_datasets_vocabulary() -> None:
    spec = circles_spec(dataset={"name": "imdb", "encoding": "sequence", "num_words": 10000})
    spec["model"]["layers"] = [
        {"type": "Embedding", "input_dim": 5000, "output_dim": 8},
        {"type": "GlobalAveragePooling1D"},
        {"type": "Dense", "units": 1},
    ]
    with pytest.raises(ValidationError) as info:
        ExperimentSpec.model_validate(spec)
    [error] = info.value.errors()
    assert error["loc"] == ("model",)
    assert "input_dim (5000) must be at least the dataset's num_words (10000)" in error["msg"]
    spec["model"]["layers"][0]["input_dim"] = 10000
    assert ExperimentSpec.model_validate(spec).model.layers[0] == sl.Embedding(
        type="Embedding", input_dim=10000, output_dim=8
    )
