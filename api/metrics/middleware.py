"""Counts every HTTP answer by route template, method and status, and times it. The route's
template (/experiments/{experiment_id}), never the path: one series per route, not one per
experiment; a path no route matches is "unmatched". The time runs to the answer's headers:
the server's time to answer, the wait for admission included (this middleware is outermost);
a streamed body (an event stream, a CSV) is not in it."""

import time

from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.metrics import service


class RequestMetricsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        answered = False

        async def sending(message: Message) -> None:
            nonlocal answered
            if message["type"] == "http.response.start" and not answered:
                answered = True
                _record(scope, message["status"], time.perf_counter() - started)
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception:
            # Starlette's outermost error middleware answers 500 after this one gave up.
            if not answered:
                _record(scope, 500, time.perf_counter() - started)
            raise


def _record(scope: Scope, status: int, seconds: float) -> None:
    service.record_request(route_template(scope), scope["method"], status, seconds)


def route_template(scope: Scope) -> str:
    # A route that matched is in the scope, which every middleware shares; FastAPI puts its
    # own routes there, not a Mount.
    path = getattr(scope.get("route"), "path", None)
    if path:
        return str(path)
    for route in getattr(scope.get("app"), "routes", ()):
        if isinstance(route, Mount) and scope["path"].startswith(route.path + "/"):
            return route.path + "/{path}"
    return "unmatched"
