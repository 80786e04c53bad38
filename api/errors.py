"""Error bodies: every 4xx is JSON that names what was wrong."""

import json
import re
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from models.shapes import ShapeError

_ROOTS = ("body", "query", "path", "header")


def clean_loc(loc: tuple[Any, ...] | list[Any], document: Any) -> list[str | int]:
    """A pydantic location without the tags of discriminated unions (e.g. "Dense"): walking
    the submitted document tells those tags from real keys."""
    parts: list[str | int] = []
    node = document
    for seg in loc:
        if node is not None and not isinstance(node, dict | list):
            break  # the error is about this scalar (e.g. "adamx" given for an optimizer)
        if isinstance(seg, int):
            parts.append(seg)
            node = node[seg] if isinstance(node, list) and -len(node) <= seg < len(node) else None
            continue
        if (
            isinstance(node, dict)
            and seg not in node
            and seg in (node.get("type"), node.get("name"))
        ):
            continue  # a union tag, not a key
        parts.append(seg)
        node = node.get(seg) if isinstance(node, dict) else None
    return parts


_PLAIN_KEY = re.compile(r"[A-Za-z_][\w-]*")


def format_path(parts: list[str | int]) -> str:
    """`model.layers[0].units`; a key that is not a plain name (a study's JSON-path keys,
    like grid["model.layers[1].rate"]) is quoted, so the path stays readable."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.fullmatch(part):
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(part)}]"
    return out or "(body)"


def json_path(loc: tuple[Any, ...] | list[Any], document: Any) -> str:
    """Turn a pydantic location into a JSON path like `model.layers[0].units`."""
    return format_path(clean_loc(loc, document))


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    body = getattr(exc, "body", None)
    if isinstance(body, Mapping) and not isinstance(body, dict):
        body = dict(body)  # a parsed form: its fields are paths like a JSON body's keys
    detail = []
    for err in exc.errors():
        loc = list(err.get("loc", ()))
        root = loc[0] if loc and loc[0] in _ROOTS else None
        rest = loc[1:] if root else loc
        path = json_path(rest, body if root == "body" else None)
        if root and root != "body":
            path = f"{root}.{path}"
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        detail.append({"path": path, "msg": msg, "type": err.get("type", "invalid"), "loc": loc})
    return JSONResponse(status_code=422, content={"detail": detail})


async def _shape_error(request: Request, exc: ShapeError) -> JSONResponse:
    """A spec whose layers cannot take the dataset's shape: the same body as a field error,
    pointing at the layer, so a client handles both alike."""
    detail = {
        "path": exc.path,
        "msg": exc.message,
        "type": "shape_error",
        "loc": ["body", "model", "layers", exc.index],
    }
    return JSONResponse(status_code=422, content={"detail": [detail]})


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(ShapeError, _shape_error)  # type: ignore[arg-type]
