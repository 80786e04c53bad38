"""At most MAX_CONNECTIONS requests inside the app at once; the others wait their turn in the
event loop, holding no thread and no connection.

Why: FastAPI runs each sync dependency and the route as separate hops through AnyIO's thread
pool, and a request keeps its database connection between hops, off any thread. Under load,
new requests can fill every thread waiting for a pooled connection while the requests that
hold the connections wait for a thread to finish on: bench.load saw one API process stall at
~55 requests in flight and answer 500 after the pool's 30 s timeout. With no more requests
inside than connections, a request inside always gets one."""

import anyio
from starlette.types import ASGIApp, Receive, Scope, Send


class AdmissionMiddleware:
    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self._slots: anyio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # An event stream lasts as long as its watcher and holds no connection while it
        # streams (its dependencies run and close first): it must not keep others out.
        if scope["type"] != "http" or scope["path"].endswith("/events"):
            await self.app(scope, receive, send)
            return
        if self._slots is None:  # made on first use, inside the server's event loop
            self._slots = anyio.Semaphore(self.limit)
        async with self._slots:
            await self.app(scope, receive, send)
