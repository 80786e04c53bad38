"""A study's request -> its variants' spec documents: the base, each variant's override
(deep-merged) and `set` paths, then each grid point. Pure functions on JSON values; the
specs they make are validated afterwards (api/studies/service.py), naming the variant."""

import itertools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from api.studies.paths import Path, PathError, deep_merge, parse_path, set_path

BASE_VARIANT = "base"
NAME_MAX = 100  # experiments.variant is VARCHAR(100)
SHOWN = 5  # variants an error message names before "and N more"


@dataclass(frozen=True)
class VariantInput:
    """One entry of the request's `variants`."""

    name: str
    override: dict[str, Any] = field(default_factory=dict)
    set: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Origin:
    """Where a variant's changes came from, so an error can point into the request."""

    index: int | None  # position in `variants`; None when the base is the only variant
    override: dict[str, Any]
    set_paths: dict[str, Path]  # the `set` key as written -> parsed
    grid_point: dict[str, int]  # grid key as written -> index of its value in the grid


@dataclass(frozen=True)
class PlannedVariant:
    name: str
    document: dict[str, Any]  # the merged spec, not yet validated
    grid_values: dict[str, Any] | None
    origin: Origin


@dataclass(frozen=True)
class StudyInputError:
    """One problem, located in the request body (without the leading "body"), and the
    variants it was found in (none for a problem of the request as a whole)."""

    loc: tuple[str | int, ...]
    msg: str
    type: str
    variants: tuple[str, ...] = ()

    @property
    def message(self) -> str:
        """`variant 'smaller': ...`; one problem the base gives every variant is one error
        naming them all, not one per variant."""
        if not self.variants:
            return self.msg
        names = ", ".join(f"'{name}'" for name in self.variants[:SHOWN])
        more = len(self.variants) - SHOWN
        names += f" and {more} more" if more > 0 else ""
        return f"variant{'s' if len(self.variants) > 1 else ''} {names}: {self.msg}"


class ExpansionError(ValueError):
    """`planned` holds the variants that did expand, so they can still be checked and every
    problem of the request reported at once."""

    def __init__(self, errors: list[StudyInputError], planned: list[PlannedVariant]) -> None:
        super().__init__("; ".join(e.message for e in errors))
        self.errors = errors
        self.planned = planned


def experiment_count(variants: int, grid: Mapping[str, Sequence[Any]] | None, repeats: int) -> int:
    """Computed before anything is expanded, so a huge grid is refused without building it."""
    points = math.prod(len(values) for values in (grid or {}).values())
    return max(variants, 1) * points * repeats


def show(value: Any) -> str:
    """A grid value as it appears in a variant name: strings bare, the rest as compact JSON."""
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def grid_points(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, int]]:
    """The cartesian product in the grid's key order, the last key varying fastest; each
    point maps a grid key to the index of its value."""
    ranges = [range(len(values)) for values in grid.values()]
    return [dict(zip(grid, indexes, strict=True)) for indexes in itertools.product(*ranges)]


def expand(
    base: dict[str, Any],
    variants: Sequence[VariantInput] | None,
    grid: Mapping[str, Sequence[Any]] | None,
) -> list[PlannedVariant]:
    """Every variant (the base alone when there are none) at every grid point, in that
    order; variant names are unique and fit the variant column."""
    grid = grid or {}
    errors = _check_grid(grid)
    if errors:
        raise ExpansionError(errors, [])
    grid_paths = {key: parse_path(key) for key in grid}
    planned: list[PlannedVariant] = []
    seen: set[str] = set()
    for index, variant in enumerate(variants or [VariantInput(BASE_VARIANT)]):
        where: tuple[str | int, ...] = ("variants", index) if variants else ("base",)
        found = _apply_variant(base, variant, index if variants else None, where)
        if isinstance(found, StudyInputError):
            errors.append(found)
            continue
        for point in grid_points(grid):
            item = _at_grid_point(found, variant.name, point, grid, grid_paths)
            if isinstance(item, PlannedVariant):
                name_loc = ("grid",) if grid and len(item.name) > NAME_MAX else (*where, "name")
                item = _check_name(item, name_loc, seen)
            if isinstance(item, StudyInputError):
                errors.append(item)
            else:
                planned.append(item)
    if errors:
        raise ExpansionError(errors, planned)
    return planned


def _apply_variant(
    base: dict[str, Any], variant: VariantInput, index: int | None, where: tuple[str | int, ...]
) -> PlannedVariant | StudyInputError:
    """The variant at no grid point yet: its override merged, then its `set` paths."""
    document = deep_merge(base, variant.override)
    set_paths: dict[str, Path] = {}
    for key, value in variant.set.items():
        try:
            set_paths[key] = parse_path(key)
            document = set_path(document, set_paths[key], value)
        except PathError as problem:
            loc = (*where, "set", key)
            return StudyInputError(loc, str(problem), "path", (variant.name,))
    return PlannedVariant(
        variant.name, document, None, Origin(index, variant.override, set_paths, {})
    )


def _at_grid_point(
    variant: PlannedVariant,
    variant_name: str,
    point: dict[str, int],
    grid: Mapping[str, Sequence[Any]],
    grid_paths: dict[str, Path],
) -> PlannedVariant | StudyInputError:
    values = {key: grid[key][i] for key, i in point.items()}
    labels = [f"{key}={show(value)}" for key, value in values.items()]
    origin = variant.origin
    name = ", ".join(labels if origin.index is None and labels else [variant_name, *labels])
    document = variant.document
    for key, value in values.items():
        try:
            document = set_path(document, grid_paths[key], value)
        except PathError as problem:
            loc = ("grid", key, point[key])
            return StudyInputError(loc, str(problem), "path", (name,))
    located = Origin(origin.index, origin.override, origin.set_paths, point)
    return PlannedVariant(name, document, values or None, located)


def _check_grid(grid: Mapping[str, Sequence[Any]]) -> list[StudyInputError]:
    errors = []
    for key, values in grid.items():
        problem = _bad_path(key)
        if problem is not None:
            errors.append(StudyInputError(("grid", key), problem, "path"))
        shown = [json.dumps(v, sort_keys=True) for v in values]
        if len(set(shown)) != len(shown):
            msg = "each value may appear once (two variants would have the same name)"
            errors.append(StudyInputError(("grid", key), msg, "duplicate_value"))
    return errors


def _bad_path(key: str) -> str | None:
    try:
        parse_path(key)
    except PathError as problem:
        return str(problem)
    return None


def _check_name(
    item: PlannedVariant, loc: tuple[str | int, ...], seen: set[str]
) -> PlannedVariant | StudyInputError:
    if len(item.name) > NAME_MAX:
        msg = f"variant name '{item.name}' is longer than {NAME_MAX} characters; shorten "
        msg += "the variant name or sweep fewer grid paths"
        return StudyInputError(loc, msg, "name_too_long")
    if item.name in seen:
        return StudyInputError(loc, f"duplicate variant name '{item.name}'", "duplicate_name")
    seen.add(item.name)
    return item
