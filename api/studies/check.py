"""Each variant's spec checked as a full ExperimentSpec and with
api.experiments.service.check_spec; a problem is reported at the place in the request that
caused it (the variant's override or `set` path, the grid value, or the base) with the
variant named in the message."""

from collections.abc import Sequence
from typing import Any

from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlalchemy.orm import Session

from api.core.errors import clean_loc
from api.experiments.service import check_spec
from api.studies.expand import Origin, PlannedVariant, StudyInputError
from api.studies.paths import Path, is_prefix, parse_path
from models.shapes import ShapeError
from models.spec import ExperimentSpec


def seeded(document: dict[str, Any], repeat: int) -> dict[str, Any]:
    """One repeat's spec: fit.seed = the variant's seed (or 0) + the repeat index, so repeats
    differ yet a rerun of the study reproduces them, and repeat r of every variant shares a
    seed (variants are compared on the same initializations and shuffles)."""
    fit = document.get("fit")
    seed = fit.get("seed") if isinstance(fit, dict) else None
    if not isinstance(fit, dict) or not isinstance(seed, int | None) or isinstance(seed, bool):
        return document  # validation names what is wrong with it
    return {**document, "fit": {**fit, "seed": (seed or 0) + repeat}}


def check_variants(
    session: Session, planned: Sequence[PlannedVariant], repeats: int, owner: str
) -> list[tuple[PlannedVariant, list[ExperimentSpec]]]:
    """Each variant with its specs, one per repeat; StudyCheckError listing every problem."""
    checked = []
    errors: list[StudyInputError] = []
    for variant in planned:
        specs, problems = _variant_specs(session, variant, repeats, owner)
        errors.extend(problems)
        checked.append((variant, specs))
    if errors:
        raise StudyCheckError(errors)
    return checked


class StudyCheckError(ValueError):
    def __init__(self, errors: list[StudyInputError]) -> None:
        super().__init__("; ".join(e.message for e in errors))
        self.errors = errors


def _variant_specs(
    session: Session, variant: PlannedVariant, repeats: int, owner: str
) -> tuple[list[ExperimentSpec], list[StudyInputError]]:
    specs = []
    for repeat in range(repeats):
        document = seeded(variant.document, repeat)
        try:
            specs.append(ExperimentSpec.model_validate(document))
        except ValidationError as invalid:
            # One repeat's errors stand for all: repeats differ only in their seed.
            return [], [_from_pydantic(variant, e, document) for e in invalid.errors()]
    try:
        check_spec(session, specs[0], owner)
    except RequestValidationError as invalid:
        return [], [_from_pydantic(variant, e, variant.document) for e in invalid.errors()]
    except ShapeError as bad_shape:
        return [], [_error(variant, parse_path(bad_shape.path), bad_shape.message, "shape_error")]
    return specs, []


def _from_pydantic(variant: PlannedVariant, error: Any, document: Any) -> StudyInputError:
    loc = list(error.get("loc", ()))
    if loc[:1] == ["body"]:  # check_spec's errors are located in a request body
        loc = loc[1:]
    msg = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    return _error(variant, clean_loc(loc, document), msg, str(error.get("type", "invalid")))


def _error(variant: PlannedVariant, path: Path, msg: str, kind: str) -> StudyInputError:
    return StudyInputError(locate(variant.origin, path), msg, kind, (variant.name,))


def locate(origin: Origin, path: Path) -> tuple[str | int, ...]:
    """The request location that set the spec field at `path`: a grid value (applied last,
    so it wins), then a `set` path, then the override, else the base. A change at or inside
    the failing field counts (an invalid layer type set at model.layers[1].type fails as
    model.layers[1])."""
    for key, index in origin.grid_point.items():
        if _related(parse_path(key), path):
            return ("grid", key, index)
    where: tuple[str | int, ...] = ("variants", origin.index) if origin.index is not None else ()
    for key, parsed in origin.set_paths.items():
        if _related(parsed, path):
            return (*where, "set", key)
    if where and _in_override(origin.override, path):
        return (*where, "override", *path)
    return ("base", *path)


def _related(changed: Path, failing: Path) -> bool:
    return bool(failing) and (is_prefix(changed, failing) or is_prefix(failing, changed))


def _in_override(override: dict[str, Any], path: Path) -> bool:
    """Whether the override wrote the field at `path`: it holds the path, replaced a list or
    value above it, or wrote into the object right above a missing or unknown field."""
    if not override:
        return False
    node: Any = override
    for depth, part in enumerate(path):
        if not isinstance(node, dict):
            return True  # a list (or value) the override put there as a whole
        if part not in node:
            return depth == len(path) - 1 and depth > 0
        node = node[part]
    return True
