"""Refuse JSON request bodies past FITQ_MAX_REQUEST_BYTES with a 413, as a pure ASGI
middleware: a declared Content-Length over the limit is refused before a byte is read, and
a body without one (chunked) is counted as it arrives and cut off the moment it passes the
limit, so a large body never sits in memory. Dataset uploads (POST /datasets) have their
own, larger limit (api/datasets/limit.py) and pass through untouched."""

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.core.errors import ApiError
from models.settings import get_settings

UPLOADS = frozenset({("POST", "/datasets")})


class BodyTooLargeError(ApiError):
    """An HTTPException, so it reads as a 413 even where FastAPI catches it while parsing."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(
            413, "(body)",
            f"the request body is larger than {max_bytes} bytes (FITQ_MAX_REQUEST_BYTES)",
            "too_large", ctx={"max_bytes": max_bytes},
        )  # fmt: skip


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, exempt: frozenset[tuple[str, str]] = UPLOADS) -> None:
        self.app = app
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (scope["method"], scope["path"]) in self.exempt:
            await self.app(scope, receive, send)
            return
        max_bytes = get_settings().max_request_bytes  # per request: a changed setting applies
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length", b"").decode("latin-1")
        if declared.isdigit() and int(declared) > max_bytes:
            await _refuse(send, BodyTooLargeError(max_bytes))
            return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > max_bytes:
                raise BodyTooLargeError(max_bytes)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLargeError as too_large:
            if started:
                raise
            await _refuse(send, too_large)


async def _refuse(send: Send, error: BodyTooLargeError) -> None:
    body = json.dumps({"detail": error.detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
