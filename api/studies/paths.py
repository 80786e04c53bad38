"""JSON paths into a spec document, like `model.layers[1].rate`: how a study's `set` and
`grid` name the single fields they change. Pure functions on plain JSON values."""

import copy
import re
from typing import Any

from api.core.errors import format_path

Path = list[str | int]

_PIECE = re.compile(r"([A-Za-z_]\w*)((?:\[\d+\])*)")
_INDEX = re.compile(r"\[(\d+)\]")


class PathError(ValueError):
    """A path that does not parse, or does not fit the document it is applied to."""


def parse_path(path: str) -> Path:
    """`model.layers[1].rate` -> ["model", "layers", 1, "rate"]."""
    parts: Path = []
    for piece in path.split("."):
        match = _PIECE.fullmatch(piece)
        if match is None:
            raise PathError(
                f"'{path}' is not a path like model.layers[0].units (keys joined by dots, "
                "list positions in brackets)"
            )
        parts.append(match.group(1))
        parts.extend(int(i) for i in _INDEX.findall(match.group(2)))
    return parts


def set_path(document: dict[str, Any], path: Path, value: Any) -> dict[str, Any]:
    """A copy of `document` with `value` at `path`. Missing object keys are created (so a
    regularizer can be added to a layer that has none); list positions must exist, since a
    path cannot say what the items before a new one would be."""
    result = copy.deepcopy(document)
    node: Any = result
    for depth, part in enumerate(path):
        last = depth == len(path) - 1
        here = format_path(path[:depth])
        if isinstance(part, int):
            if not isinstance(node, list):
                raise PathError(f"{format_path(path)}: {here} is not a list")
            if part >= len(node):
                raise PathError(
                    f"{format_path(path)}: {here} has {len(node)} items, so [{part}] does not exist"
                )
        elif not isinstance(node, dict):
            raise PathError(f"{format_path(path)}: {here} is not an object")
        elif not last and part not in node:
            if isinstance(path[depth + 1], int):
                raise PathError(f"{format_path(path)}: {format_path(path[: depth + 1])} is missing")
            node[part] = {}
        if last:
            node[part] = copy.deepcopy(value)
        else:
            node = node[part]
    return result


def deep_merge(base: Any, override: Any) -> Any:
    """Objects merge key by key, recursively; anything else, lists included, replaces: a
    list's items have no identity to merge by (change one item with a `set` path)."""
    if not (isinstance(base, dict) and isinstance(override, dict)):
        return copy.deepcopy(override)
    merged = copy.deepcopy(base)
    for key, value in override.items():
        merged[key] = deep_merge(merged[key], value) if key in merged else copy.deepcopy(value)
    return merged


def is_prefix(prefix: Path, path: Path) -> bool:
    return len(prefix) <= len(path) and path[: len(prefix)] == prefix
