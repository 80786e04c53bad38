"""503 while a server the API needs is down: the database (any route that reads or writes)
or the broker (dry runs). The body is the one error shape, naming the server in `path`, and
`Retry-After` says when to try again. Submits do not need the broker: their rows commit as
queued, and the reconciler sends what could not be sent (worker/reconciler.py)."""

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc

from api.core.errors import error_item

log = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 5
DATABASE, BROKER = "(database)", "(broker)"
# What SQLAlchemy raises when it cannot reach the database or lost it mid-request: a refused
# or timed-out connect, a connection closed under it, no pooled connection free in time.
DATABASE_DOWN = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)


class ServerDownError(Exception):
    """Raised by a route that found `server` (DATABASE or BROKER) down."""

    def __init__(self, server: str, msg: str) -> None:
        super().__init__(msg)
        self.server, self.msg = server, msg


def unavailable(server: str, msg: str) -> JSONResponse:
    item = error_item(server, msg, "service_unavailable")
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    return JSONResponse({"detail": [item]}, status_code=503, headers=headers)


async def _service_unavailable(request: Request, exc: ServerDownError) -> JSONResponse:
    return unavailable(exc.server, exc.msg)


async def _database_down(request: Request, exc: Exception) -> JSONResponse:
    # One line, not a traceback per request: an outage would flood the log.
    log.warning("%s %s: database unreachable: %s", request.method, request.url.path, exc)
    return unavailable(DATABASE, "the database is unreachable; try again shortly")


def install(app: FastAPI) -> None:
    app.add_exception_handler(ServerDownError, _service_unavailable)  # type: ignore[arg-type]
    for kind in DATABASE_DOWN:
        app.add_exception_handler(kind, _database_down)
