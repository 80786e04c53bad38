"""Stop reading an upload as soon as it passes FITQ_MAX_UPLOAD_BYTES.

FastAPI parses a multipart body to the end before the route runs; the parser spools file
parts to disk without a size limit. Counting bytes as the body is received, and failing the
moment the count passes the limit, means an oversized upload costs at most the limit."""

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.types import Message, Receive

from api.core.errors import ApiError
from models.settings import get_settings

# Room for the multipart envelope and the small form fields besides the file itself; the
# file's exact size is checked against the limit once the body is parsed.
FORM_OVERHEAD = 64 * 1024


def too_large(max_bytes: int) -> ApiError:
    return ApiError(
        413, "file", f"the upload is larger than {max_bytes} bytes (FITQ_MAX_UPLOAD_BYTES)",
        "too_large", ctx={"max_bytes": max_bytes},
    )  # fmt: skip


def _counting(receive: Receive, max_bytes: int) -> Receive:
    received = 0

    async def receive_counted() -> Message:
        nonlocal received
        message = await receive()
        received += len(message.get("body", b""))
        if received > max_bytes + FORM_OVERHEAD:
            raise too_large(max_bytes)
        return message

    return receive_counted


class LimitedUploadRoute(APIRoute):
    """An APIRoute whose request body is cut off past the upload limit (read per request,
    so a changed setting applies without rebuilding the app)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def limited(request: Request) -> Response:
            max_bytes = get_settings().max_upload_bytes
            declared = request.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes + FORM_OVERHEAD:
                raise too_large(max_bytes)  # refused before a byte of the body is read
            return await handler(Request(request.scope, _counting(request.receive, max_bytes)))

        return limited
