"""The benchmark's workloads: each one's bare script and what fitq is sent for it. fitq's specs
come from examples/ (the notebooks' experiments), so both sides train the same models."""

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
# The notebook's order; the bare script fits them in this order and the study creates them so.
IMDB_MODELS = ("baseline", "smaller", "bigger", "l2", "dropout")
# sklearn's digits in place of MNIST, scaled to [0, 1] as the article scales MNIST; no test
# split of its own: the fit's validation_split of 0.2 validates, as in the article.
DIGITS_DATASET = {"name": "digits", "format": "flat"}
# The regularization recipe's five models on the dropout article's circles (the first 30 of
# make_circles(n_samples=100, noise=0.1, random_state=1) train, the other 70 validate).
RECIPE_ROUTE: Final = "/recipes/regularization"
CIRCLES_RECIPE_EPOCHS = 300


@dataclass(frozen=True)
class Submission:
    """What fitq is sent: POST /experiments, POST /studies or POST /recipes/regularization
    (which answers as POST /studies does) with `body`."""

    route: Literal["/experiments", "/studies", "/recipes/regularization"]
    body: dict[str, Any]


@dataclass(frozen=True)
class Workload:
    name: str
    bare_module: str
    bare_args: tuple[str, ...]
    notebook_epochs: int
    # The limit (kind "limit", JAX only): the bare model fitted by fitq's compiled program
    # without fitq around it; None where there is none.
    limit_module: str | None = None

    def bare_argv(self) -> list[str]:
        return ["-m", self.bare_module, *self.bare_args]

    def limit_argv(self) -> list[str] | None:
        return None if self.limit_module is None else ["-m", self.limit_module]

    def submission(self, epochs_override: int | None = None, repeat: int = 0) -> Submission:
        """`repeat`: a study seeds its runs (fit.seed, 0 unless given, + the run's index), so
        every repeat of one study would train from the same draw; each repeat gets its own
        base seed instead, making fitq's repeats independent draws like the bare script's
        unseeded runs. Single experiments are unseeded; so is a recipe, whose body has no
        seed (its repeats are one draw, fit.seed 0 + the run's index)."""
        submission = _SUBMISSIONS[self.name](epochs_override)
        if submission.route == "/studies":
            submission.body["base"]["fit"]["seed"] = repeat
        return submission


def _example(name: str) -> dict[str, Any]:
    spec: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text())
    return spec


def _epochs(spec: dict[str, Any], epochs_override: int | None) -> dict[str, Any]:
    spec = copy.deepcopy(spec)
    if epochs_override is not None:
        spec["fit"]["epochs"] = epochs_override
    return spec


def _circles(epochs_override: int | None) -> Submission:
    # make_circles(n_samples=100, noise=0.1, random_state=1), the first 30 train, 4,000 epochs
    spec = _example("circles_overfit") | {"name": "bench circles"}
    return Submission("/experiments", _epochs(spec, epochs_override))


def _circles_recipe(epochs_override: int | None) -> Submission:
    body = {
        "name": "bench circles_recipe",
        "dataset": {"name": "circles", "n_train": 30},
        "epochs": epochs_override or CIRCLES_RECIPE_EPOCHS,
        "repeats": 1,
    }
    return Submission(RECIPE_ROUTE, body)


def _digits(size: str) -> Callable[[int | None], Submission]:
    def submission(epochs_override: int | None) -> Submission:
        spec = _example(f"mnist_{size}") | {"name": f"bench digits_{size}"}
        spec["dataset"] = dict(DIGITS_DATASET)
        return Submission("/experiments", _epochs(spec, epochs_override))

    return submission


def _imdb(workload: str, models: tuple[str, ...]) -> Callable[[int | None], Submission]:
    def submission(epochs_override: int | None) -> Submission:
        base = _epochs(_example("imdb_baseline"), epochs_override) | {"name": "baseline"}
        variants = [
            {"name": name, "override": {"model": _example(f"imdb_{name}")["model"]}}
            for name in models
        ]
        body = {"name": f"bench {workload}", "base": base, "variants": variants}
        return Submission("/studies", body)

    return submission


_SUBMISSIONS = {
    "circles": _circles,
    "circles_recipe": _circles_recipe,
    "digits_small": _digits("small"),
    "digits_large": _digits("large"),
    "imdb_study": _imdb("imdb_study", IMDB_MODELS),
    # The baseline alone, through the study's own path (a seed a repeat): its final val_loss
    # after 15 epochs of overfitting varies most from draw to draw, so telling fitq's curves
    # from the notebook's takes more draws than the whole study can afford.
    "imdb_baseline": _imdb("imdb_baseline", ("baseline",)),
}

WORKLOADS: dict[str, Workload] = {
    "circles": Workload(
        "circles", "bench.bare.circles", (), 4000, limit_module="bench.bare.circles_compiled"
    ),
    "circles_recipe": Workload(
        "circles_recipe", "bench.bare.circles_recipe", (), CIRCLES_RECIPE_EPOCHS
    ),
    "digits_small": Workload("digits_small", "bench.bare.digits", ("small",), 20),
    "digits_large": Workload("digits_large", "bench.bare.digits", ("large",), 20),
    "imdb_study": Workload("imdb_study", "bench.bare.imdb", (), 20),
    "imdb_baseline": Workload("imdb_baseline", "bench.bare.imdb", ("baseline",), 20),
}
IMDB_WORKLOADS = ("imdb_study", "imdb_baseline")  # they read the synthetic imdb.npz
# What `python -m bench` runs unless told: the workloads (imdb_baseline is asked for).
DEFAULT_WORKLOADS = ("circles", "circles_recipe", "digits_small", "digits_large", "imdb_study")

# Warms a new worker (imports, first model) before anything is measured; never reported.
WARM_UP = Submission(
    "/experiments",
    _epochs(_example("circles_overfit"), 2)
    # A model no workload has, so the warm-up compiles no workload's program for it.
    | {"name": "warm-up", "model": {"layers": [
        {"type": "Dense", "units": 8, "activation": "relu"},
        {"type": "Dense", "units": 1, "activation": "sigmoid"},
    ]}},
)  # fmt: skip
