"""The benchmark sends fitq the notebooks' own experiments, and its command line refuses what
it does not know by the option's name."""

from typing import Any

import pytest
from typer.testing import CliRunner

from api.studies.schemas import RecipeApply, StudyCreate
from bench.__main__ import app
from bench.runner import SIDES
from bench.workloads import DEFAULT_WORKLOADS, IMDB_MODELS, WORKLOADS
from models.spec import ExperimentSpec


def body(name: str, epochs_override: int | None = None) -> dict[str, Any]:
    return WORKLOADS[name].submission(epochs_override).body


def units(spec: ExperimentSpec) -> list[tuple[str, Any]]:
    return [
        (layer.type, getattr(layer, "units", getattr(layer, "rate", None)))
        for layer in spec.model.layers
    ]


def compiled(spec: ExperimentSpec) -> tuple[str, str]:
    return spec.compile.optimizer.name, spec.compile.loss


def test_circles_is_the_dropout_articles_overfit_model() -> None:
    spec = ExperimentSpec.model_validate(body("circles"))
    dataset = spec.dataset.model_dump()
    assert dataset["name"] == "circles"
    assert (dataset["n_samples"], dataset["noise"], dataset["random_state"]) == (100, 0.1, 1)
    assert dataset["n_train"] == 30  # 30 train, the other 70 validate
    assert units(spec) == [("Dense", 500), ("Dense", 1)]
    assert compiled(spec) == ("adam", "binary_crossentropy")
    assert (spec.fit.epochs, spec.fit.batch_size, spec.fit.validation_split) == (4000, 32, None)


@pytest.mark.parametrize(
    ("name", "layers"),
    [("digits_small", [("Dense", 10)]), ("digits_large", [("Dense", 128)] * 2 + [("Dense", 10)])],
)
def test_digits_are_the_mnist_articles_models_on_sklearn_digits(
    name: str, layers: list[tuple[str, int]]
) -> None:
    spec = ExperimentSpec.model_validate(body(name))
    assert spec.dataset.name == "digits" and spec.dataset.input_shape == (64,)
    assert units(spec) == layers
    assert compiled(spec) == ("rmsprop", "sparse_categorical_crossentropy")
    assert (spec.fit.epochs, spec.fit.batch_size, spec.fit.validation_split) == (20, 128, 0.2)


def test_imdb_study_is_the_notebooks_five_models_on_the_test_split() -> None:
    study = StudyCreate.model_validate(body("imdb_study"))
    assert [v.name for v in study.variants or []] == list(IMDB_MODELS)
    first_layers = {v.name: v.override["model"]["layers"][0]["units"] for v in study.variants or []}
    assert first_layers == {"baseline": 16, "smaller": 4, "bigger": 512, "l2": 16, "dropout": 16}
    base = study.base
    assert base.dataset.model_dump()["test_split"] == "validation"
    assert base.dataset.input_shape == (10000,)
    assert (base.fit.epochs, base.fit.batch_size) == (20, 512)
    assert base.compile.metrics == ["accuracy", "binary_crossentropy"]


@pytest.mark.parametrize("name", list(WORKLOADS))
def test_the_epochs_override_reaches_every_fit(name: str) -> None:
    sent = body(name, epochs_override=3)
    spec = sent.get("base", sent)
    assert (spec["fit"]["epochs"] if "fit" in spec else spec["epochs"]) == 3  # a recipe's own
    assert WORKLOADS[name].submission().body != sent  # the notebook's own count otherwise


@pytest.mark.parametrize(
    ("args", "option"),
    [(["--workloads", "circles,mnist"], "--workloads"), (["--backends", "theano"], "--backends")],
)
def test_unknown_names_are_refused_by_option(args: list[str], option: str) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert option in result.output and ("mnist" in result.output or "theano" in result.output)


def test_each_repeat_of_the_study_trains_from_a_draw_of_its_own() -> None:
    # A study seeds its runs; the bare script's runs are unseeded draws. Repeats of one base
    # seed would make fitq's median a single draw, with no spread to compare.
    study = WORKLOADS["imdb_study"]
    seeds = [study.submission(None, r).body["base"]["fit"]["seed"] for r in (0, 1, 2)]
    assert seeds == [0, 1, 2]
    assert "seed" not in WORKLOADS["circles"].submission(None, 1).body["fit"]


def test_imdb_baseline_is_the_studys_baseline_alone_on_both_sides() -> None:
    workload = WORKLOADS["imdb_baseline"]
    assert workload.bare_argv() == ["-m", "bench.bare.imdb", "baseline"]
    study = StudyCreate.model_validate(workload.submission(None, 4).body)
    assert [v.name for v in study.variants or []] == ["baseline"]
    assert study.base.fit.seed == 4  # a draw of its own, as each repeat of the study
    whole = StudyCreate.model_validate(body("imdb_study"))
    assert study.base.model_dump(exclude={"fit"}) == whole.base.model_dump(exclude={"fit"})


def test_circles_recipe_is_the_regularization_recipe_on_the_articles_circles() -> None:
    workload = WORKLOADS["circles_recipe"]
    submission = workload.submission(None, 2)
    assert submission.route == "/recipes/regularization"
    apply = RecipeApply.model_validate(submission.body)
    dataset = apply.dataset.model_dump()
    assert (dataset["name"], dataset["n_samples"], dataset["noise"]) == ("circles", 100, 0.1)
    assert (dataset["random_state"], dataset["n_train"]) == (1, 30)
    assert (apply.epochs, apply.repeats, apply.batch_size) == (300, 1, None)  # batch: 32
    assert "seed" not in submission.body  # the recipe takes none
    assert workload.bare_argv() == ["-m", "bench.bare.circles_recipe"]
    assert workload.limit_argv() is None and "circles_recipe" in DEFAULT_WORKLOADS


def test_circles_has_a_limit_script_and_every_side_is_the_default() -> None:
    assert WORKLOADS["circles"].limit_argv() == ["-m", "bench.bare.circles_compiled"]
    assert SIDES == ("bare", "fitq", "limit", "fitq-fit")
    result = CliRunner().invoke(app, ["--sides", "bare,fitq-compiled"])
    assert result.exit_code == 2 and "--sides" in result.output
