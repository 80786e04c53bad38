"""Checks every route gets, built from what the route itself declares (no per-route code):

- a route that takes JSON refuses a body of another media type (text/plain, a form) with 415,
  and a route that takes a form refuses anything but a form;
- a JSON body nested deeper than MAX_JSON_DEPTH is a 400 (no spec nests a tenth as deep, and
  deeper documents overflow the recursion of whatever walks them later);
- a query parameter or form field the route does not take is a 422 naming it, so a typo
  (or a filter the route lacks) is never silently ignored;
- a NUL character in a query or path parameter is a 422: PostgreSQL text cannot hold one.

Installed once for the whole app as a dependency (api/main.py)."""

import email.message
from dataclasses import dataclass
from typing import Any

from fastapi import Request, params
from fastapi.dependencies.utils import get_flat_params
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from api.core.errors import ApiError
from models.spec_base import NUL_MESSAGE, NUL_TYPE

MAX_JSON_DEPTH = 32
_FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


@dataclass(frozen=True)
class Declared:
    """What a route takes: its query parameters, and its body's kind and form fields."""

    query: frozenset[str]
    body: str | None  # "json", "form" or None (no body)
    form_fields: frozenset[str]


def declared(route: APIRoute) -> Declared:
    """Worked out on a route's first request and kept on the route (routes are unhashable)."""
    known = getattr(route, "_fitq_declared", None)
    if isinstance(known, Declared):
        return known
    query = frozenset(p.alias for p in get_flat_params(route.dependant) if _is_query(p))
    field = route.body_field
    if field is None:
        body, fields = None, frozenset[str]()
    elif isinstance(field.field_info, params.Form):
        body, fields = "form", frozenset(p.alias for p in _body_params(route))
    else:
        body, fields = "json", frozenset()
    found = Declared(query, body, fields)
    route._fitq_declared = found  # type: ignore[attr-defined]
    return found


def _is_query(field: Any) -> bool:
    return isinstance(field.field_info, params.Query)


def _body_params(route: APIRoute) -> list[Any]:
    found, pending = [], [route.dependant]
    while pending:
        dependant = pending.pop()
        found.extend(dependant.body_params)
        pending.extend(dependant.dependencies)
    return found


def _media_type(request: Request) -> str:
    message = email.message.Message()
    message["content-type"] = request.headers.get("content-type", "")
    return message.get_content_type() if request.headers.get("content-type") else ""


def _is_json(media_type: str) -> bool:
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def _refuse_unknown(kind: str, given: list[str], known: frozenset[str], body: Any) -> None:
    unknown = [name for name in dict.fromkeys(given) if name not in known]
    if not unknown:
        return
    takes = ", ".join(sorted(known)) or "none"
    errors = [
        {
            "type": "unknown_parameter",
            "loc": (kind, name),
            "msg": f"unknown {'query parameter' if kind == 'query' else 'form field'} "
            f"'{name}'; this route takes: {takes}",
            "input": name,
        }
        for name in unknown
    ]
    raise RequestValidationError(errors, body=body)


def _refuse_nul(request: Request) -> None:
    for where, values in (
        ("query", list(request.query_params.multi_items())),
        ("path", [(k, str(v)) for k, v in request.path_params.items()]),
    ):
        for name, value in values:
            if "\x00" in value or "\x00" in name:
                raise ApiError(422, f"{where}.{name}", NUL_MESSAGE, NUL_TYPE)


def depth_exceeds(document: Any, limit: int) -> bool:
    """Whether `document` nests lists and objects more than `limit` deep (iterative, so a
    deep document cannot overflow this check itself)."""
    pending = [(document, 1)]
    while pending:
        node, depth = pending.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node  # type: ignore[assignment]
        else:
            continue
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children)
    return False


async def check_request(request: Request) -> None:
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    _refuse_nul(request)
    takes = declared(route)
    _refuse_unknown("query", list(request.query_params.keys()), takes.query, None)
    media_type = _media_type(request)
    if takes.body == "json" and await request.body():
        if not _is_json(media_type):
            raise ApiError(
                415, "header.Content-Type",
                f"this route takes a JSON body (Content-Type: application/json), not "
                f"{media_type or 'a body without a Content-Type'}",
                "unsupported_media_type",
            )  # fmt: skip
        # Already parsed by FastAPI (Request caches it): this reads no byte again.
        if depth_exceeds(await request.json(), MAX_JSON_DEPTH):
            raise ApiError(
                400, "(body)",
                f"the JSON body is nested more than {MAX_JSON_DEPTH} levels deep",
                "json_too_deep", ctx={"max_depth": MAX_JSON_DEPTH},
            )  # fmt: skip
    if takes.body == "form":
        if media_type not in _FORM_TYPES:
            raise ApiError(
                415, "header.Content-Type",
                f"this route takes a form (Content-Type: multipart/form-data), not "
                f"{media_type or 'a body without a Content-Type'}",
                "unsupported_media_type",
            )  # fmt: skip
        form = await request.form()  # parsed once already; cached on the request
        _refuse_unknown("body", list(form.keys()), takes.form_fields, dict(form))
