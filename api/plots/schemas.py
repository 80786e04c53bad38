"""What the plot routes take and answer, as the OpenAPI document shows it: the size
parameters, If-None-Match, and the PNG, 304 and error responses (a plot is a PNG: no JSON
model of its own)."""

from typing import Annotated, Any

from fastapi import Header, Query

from api.core.schemas import BINARY, ErrorRead
from api.plots.cache import CACHE_CONTROL

HEADERS_DOC = {
    "ETag": {"description": "A weak tag of what the plot shows", "schema": {"type": "string"}},
    "Cache-Control": {"description": CACHE_CONTROL, "schema": {"type": "string"}},
}
NOT_MODIFIED_DOC = {
    "description": "Not modified: If-None-Match named the current ETag; no body",
    "headers": HEADERS_DOC,
}
# Every plot route's size parameters (each route sets its own defaults).
Width = Annotated[int, Query(ge=200, le=4000, description="Pixels")]
Height = Annotated[int, Query(ge=150, le=4000, description="Pixels")]
Dpi = Annotated[int, Query(ge=50, le=300, description="Dots per inch: larger text")]
IfNoneMatch = Annotated[
    str | None,
    Header(
        max_length=1000,
        description="ETags of a copy the client holds; a match answers 304 without a body",
    ),
]


def png_responses(
    png: str, not_found: str, conflict: str, invalid: str
) -> dict[int | str, dict[str, Any]]:
    """The documented answers of a cached plot route."""
    return {
        200: {"content": {"image/png": BINARY}, "description": png, "headers": HEADERS_DOC},
        304: NOT_MODIFIED_DOC,
        404: {"model": ErrorRead, "description": not_found},
        409: {"model": ErrorRead, "description": conflict},
        422: {"model": ErrorRead, "description": invalid},
    }
