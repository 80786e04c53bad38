"""A study's request -> variant specs: paths, deep merge, grid product, names, seeds, errors."""

import copy
from typing import Any, cast

import pytest
from sqlalchemy.orm import Session

from api.studies.check import StudyCheckError, check_variants, locate, seeded
from api.studies.expand import (
    ExpansionError,
    Origin,
    StudyInputError,
    VariantInput,
    expand,
    experiment_count,
    grid_points,
)
from api.studies.paths import PathError, deep_merge, parse_path, set_path
from models.tables import LOCAL_OWNER
from tests.helpers import circles_spec

NO_DB = cast(Session, None)  # built-in datasets never reach the database in check_spec


def base() -> dict[str, Any]:
    return circles_spec(epochs=5)  # Dense(500), Dropout(0.4), Dense(1, sigmoid)


def test_paths_parse_keys_and_positions() -> None:
    assert parse_path("model.layers[1].rate") == ["model", "layers", 1, "rate"]
    assert parse_path("fit.seed") == ["fit", "seed"]
    assert parse_path("a[0][2].b") == ["a", 0, 2, "b"]
    for bad in ("", "model..layers", "model.layers[x]", "[0].units", "model.layers[-1]"):
        with pytest.raises(PathError, match="is not a path like"):
            parse_path(bad)


def test_set_path_copies_creates_missing_keys_and_checks_positions() -> None:
    document = base()
    before = copy.deepcopy(document)
    changed = set_path(document, parse_path("model.layers[0].kernel_regularizer.l2"), 0.01)
    assert changed["model"]["layers"][0]["kernel_regularizer"] == {"l2": 0.01}
    assert document == before
    with pytest.raises(PathError, match=r"model.layers has 3 items, so \[5\] does not exist"):
        set_path(document, parse_path("model.layers[5].rate"), 0.1)
    with pytest.raises(PathError, match=r"fit\.epochs is not a list"):
        set_path(document, parse_path("fit.epochs[0]"), 1)
    with pytest.raises(PathError, match=r"model\.layers is not an object"):
        set_path(document, parse_path("model.layers.type"), 1)
    with pytest.raises(PathError, match=r"fit\.epochs is not an object"):
        set_path(document, parse_path("fit.epochs.x"), 1)
    with pytest.raises(PathError, match=r"model\.blocks is missing"):
        set_path(document, parse_path("model.blocks[0].units"), 1)


def test_deep_merge_merges_objects_and_replaces_lists() -> None:
    document: dict[str, Any] = {"fit": {"epochs": 5, "batch_size": 32}, "tags": ["a"], "name": "x"}
    merged = deep_merge(document, {"fit": {"epochs": 9}, "tags": ["b", "c"], "new": {"k": 1}})
    assert merged == {
        "fit": {"epochs": 9, "batch_size": 32}, "tags": ["b", "c"], "name": "x", "new": {"k": 1}
    }  # fmt: skip
    assert document["fit"]["epochs"] == 5
    layers = [{"type": "Dense", "units": 4}]
    assert deep_merge(base(), {"model": {"layers": layers}})["model"]["layers"] == layers


def test_without_variants_or_grid_the_base_is_the_single_variant() -> None:
    [only] = expand(base(), None, None)
    assert (only.name, only.document, only.grid_values) == ("base", base(), None)


def test_each_variant_merges_its_override_then_its_set_paths() -> None:
    variants = [
        VariantInput("wide"),
        VariantInput(
            "narrow",
            override={"fit": {"batch_size": 8}, "model": {"layers": [
                {"type": "Dense", "units": 64, "activation": "relu"},
                {"type": "Dropout", "rate": 0.5},
                {"type": "Dense", "units": 1, "activation": "sigmoid"},
            ]}},
            set={"model.layers[1].rate": 0.2, "model.layers[0].units": 4},
        ),
    ]  # fmt: skip
    wide, narrow = expand(base(), variants, None)
    assert wide.document == base()
    assert narrow.name == "narrow"
    assert narrow.document["fit"] == {"epochs": 5, "batch_size": 8}
    assert [layer.get("units") for layer in narrow.document["model"]["layers"]] == [4, None, 1]
    assert narrow.document["model"]["layers"][1]["rate"] == 0.2


def test_a_grid_is_the_cartesian_product_named_by_path_and_value() -> None:
    grid: dict[str, list[Any]] = {
        "model.layers[1].rate": [0.0, 0.2], "compile.optimizer": ["adam", "sgd"]
    }  # fmt: skip
    planned = expand(base(), None, grid)
    assert [p.name for p in planned] == [
        "model.layers[1].rate=0.0, compile.optimizer=adam",
        "model.layers[1].rate=0.0, compile.optimizer=sgd",
        "model.layers[1].rate=0.2, compile.optimizer=adam",
        "model.layers[1].rate=0.2, compile.optimizer=sgd",
    ]
    last = planned[-1]
    assert last.grid_values == {"model.layers[1].rate": 0.2, "compile.optimizer": "sgd"}
    assert last.document["model"]["layers"][1]["rate"] == 0.2
    assert last.document["compile"]["optimizer"] == "sgd"
    assert grid_points({"a": [1, 2], "b": [3]}) == [{"a": 0, "b": 0}, {"a": 1, "b": 0}]


def test_variants_times_grid_points() -> None:
    variants = [VariantInput("wide"), VariantInput("narrow", set={"model.layers[0].units": 8})]
    planned = expand(base(), variants, {"model.layers[1].rate": [0.1, 0.5]})
    assert [p.name for p in planned] == [
        "wide, model.layers[1].rate=0.1", "wide, model.layers[1].rate=0.5",
        "narrow, model.layers[1].rate=0.1", "narrow, model.layers[1].rate=0.5",
    ]  # fmt: skip
    assert planned[3].document["model"]["layers"][0]["units"] == 8
    assert planned[3].origin.index == 1 and planned[3].origin.grid_point == {
        "model.layers[1].rate": 1
    }


def test_experiment_count_is_variants_times_grid_points_times_repeats() -> None:
    assert experiment_count(0, None, 1) == 1
    assert experiment_count(5, None, 3) == 15
    assert experiment_count(2, {"a": [1, 2, 3], "b": [1, 2]}, 4) == 48


def test_repeats_get_distinct_reproducible_seeds() -> None:
    assert [seeded(base(), r)["fit"]["seed"] for r in range(3)] == [0, 1, 2]
    with_seed = base()
    with_seed["fit"]["seed"] = 40
    assert [seeded(with_seed, r)["fit"]["seed"] for r in range(3)] == [40, 41, 42]
    assert "seed" not in base()["fit"]


def test_expansion_errors_name_the_variant_and_the_request_field() -> None:
    variants = [
        VariantInput("ok"),
        VariantInput("too deep", set={"model.layers[7].units": 4}),
        VariantInput("ok"),
    ]
    with pytest.raises(ExpansionError) as caught:
        expand(base(), variants, None)
    first, second = caught.value.errors
    assert first.loc == ("variants", 1, "set", "model.layers[7].units")
    assert first.message.startswith("variant 'too deep': model.layers[7].units: model.layers has 3")
    assert (second.loc, second.type) == (("variants", 2, "name"), "duplicate_name")


def test_grid_errors_name_the_grid_key() -> None:
    with pytest.raises(ExpansionError) as caught:
        expand(base(), None, {"model.layers[1].rate": [0.2, 0.2]})
    assert caught.value.errors[0].loc == ("grid", "model.layers[1].rate")
    with pytest.raises(ExpansionError) as caught:
        expand(base(), [VariantInput("v")], {"model.layers[9].rate": [0.2]})
    assert caught.value.errors[0].loc == ("grid", "model.layers[9].rate", 0)
    assert "variant 'v, model.layers[9].rate=0.2'" in caught.value.errors[0].message
    with pytest.raises(ExpansionError) as caught:
        expand(base(), None, {"name": ["x" * 120]})
    assert caught.value.errors[0].type == "name_too_long"


def test_locate_prefers_grid_then_set_then_override_then_base() -> None:
    layers = {"model": {"layers": [{"type": "Dense", "units": 0}]}}
    origin = Origin(2, layers, {"fit.epochs": ["fit", "epochs"]}, {"model.layers[1].rate": 3})
    path = parse_path
    assert locate(origin, path("model.layers[1].rate")) == ("grid", "model.layers[1].rate", 3)
    assert locate(origin, path("model.layers[1]")) == ("grid", "model.layers[1].rate", 3)
    assert locate(origin, path("fit.epochs")) == ("variants", 2, "set", "fit.epochs")
    assert locate(origin, path("model.layers[0].units")) == (
        "variants", 2, "override", "model", "layers", 0, "units"
    )  # fmt: skip
    assert locate(origin, path("compile.loss")) == ("base", "compile", "loss")
    assert locate(Origin(None, {}, {}, {}), path("fit.epochs")) == ("base", "fit", "epochs")


def test_checked_variants_get_one_spec_per_repeat() -> None:
    planned = expand(base(), [VariantInput("a"), VariantInput("b")], None)
    checked = check_variants(NO_DB, planned, repeats=3, owner=LOCAL_OWNER)
    assert [[spec.fit.seed for spec in specs] for _, specs in checked] == [[0, 1, 2]] * 2


def test_check_errors_point_into_the_request_and_name_the_variant() -> None:
    zero_units = {"model": {"layers": [{"type": "Dense", "units": 0}]}}
    variants = [
        VariantInput("fine"),
        VariantInput("smaller", override=zero_units),
        VariantInput("conv", set={"model.layers[0]": {"type": "Conv2D", "filters": 2,
                                                      "kernel_size": 3}}),
    ]  # fmt: skip
    with pytest.raises(StudyCheckError) as caught:
        check_variants(NO_DB, expand(base(), variants, None), repeats=2, owner=LOCAL_OWNER)
    units, shape = caught.value.errors
    assert units.loc == ("variants", 1, "override", "model", "layers", 0, "units")
    assert units.message == "variant 'smaller': Input should be greater than or equal to 1"
    assert shape.loc == ("variants", 2, "set", "model.layers[0]")
    assert shape.type == "shape_error" and shape.message.startswith("variant 'conv': ")


def test_an_error_names_its_variants_up_to_five() -> None:
    error = StudyInputError(("base", "fit"), "bad", "x", ("a",))
    assert error.message == "variant 'a': bad"
    many = StudyInputError(("base", "fit"), "bad", "x", tuple("abcdefg"))
    assert many.message == "variants 'a', 'b', 'c', 'd', 'e' and 2 more: bad"
    assert StudyInputError((), "too many", "x").message == "too many"
