"""Error bodies: every error is JSON of one shape, a list of what was wrong,

    {"detail": [{"path": "query.metric", "msg": "...", "type": "...", "loc": [...]}, ...]}

`path` names the field (a JSON path into the body, or `query.`, `path.`, `header.` and the
parameter's name) or, for an error about no field, the thing in parentheses: `(body)`,
`(url)`, `(server)`. Routes raise ApiError with the path they know; any other HTTPException
(FastAPI's own, Starlette's 404 and 405) gets the default path of its status."""

import json
import re
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from models.shapes import ShapeError

_ROOTS = ("body", "query", "path", "header")


def error_item(path: str, msg: str, type: str, ctx: dict[str, Any] | None = None) -> dict[str, Any]:
    """One entry of `detail`; its `loc` is the path's parts, as pydantic would give them."""
    root, _, rest = path.partition(".")
    if root in _ROOTS and rest:
        loc: list[str | int] = [root, rest]
    elif path.startswith("("):
        loc = ["body"] if path == "(body)" else []
    else:
        loc = ["body", path]  # an upload's form field
    item: dict[str, Any] = {"path": path, "msg": msg, "type": type, "loc": loc}
    if ctx:
        item["ctx"] = ctx
    return item


class ApiError(HTTPException):
    """An HTTPException whose detail is already the one shape, naming what it is about."""

    def __init__(
        self,
        status: int,
        path: str,
        msg: str,
        type: str,
        *,
        headers: dict[str, str] | None = None,
        ctx: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(status, detail=[error_item(path, msg, type, ctx)], headers=headers)


# What an HTTPException that carries only words is about, by its status.
_DEFAULTS = {
    400: ("(body)", "bad_request"),
    401: ("header.Authorization", "unauthorized"),
    403: ("header.Authorization", "forbidden"),
    404: ("(url)", "not_found"),
    405: ("(method)", "method_not_allowed"),
    409: ("(state)", "conflict"),
    413: ("(body)", "too_large"),
    415: ("header.Content-Type", "unsupported_media_type"),
    503: ("(server)", "service_unavailable"),
}


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


def _unreadable_body(exc: StarletteHTTPException) -> tuple[str, str] | None:
    """FastAPI answers 400 "There was an error parsing the body" for any JSON it cannot
    decode but malformed JSON; its cause says which of the two usual reasons it was."""
    cause = exc.__cause__
    if isinstance(cause, UnicodeDecodeError):
        return f"the body is not UTF-8 text: {cause.reason} at byte {cause.start}", "not_utf8"
    if isinstance(cause, RecursionError):
        return "the JSON body is nested too deeply to read", "json_too_deep"
    return None


async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    headers = getattr(exc, "headers", None)
    if exc.status_code in (204, 304):  # no body allowed
        return Response(status_code=exc.status_code, headers=headers)
    if isinstance(exc.detail, list):  # ApiError: already the one shape
        detail = exc.detail
    else:
        path, kind = _DEFAULTS.get(exc.status_code, ("(request)", "http_error"))
        msg = str(exc.detail)
        if exc.status_code == 400 and (unreadable := _unreadable_body(exc)):
            msg, kind = unreadable
        detail = [error_item(path, msg, kind)]
    return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=headers)


async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    """An unexpected failure is still the one shape (the traceback goes to the log)."""
    item = error_item("(server)", "internal server error", "internal_error")
    return JSONResponse({"detail": [item]}, status_code=500)


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(ShapeError, _shape_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _internal_error)
