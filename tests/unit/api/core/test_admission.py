"""The admission gate: no more requests inside the app than the database pool has connections,
and the others wait (never fail)."""

import anyio
import httpx
from starlette.types import Receive, Scope, Send

from api.core.admission import AdmissionMiddleware


class Probe:
    """An ASGI app that notes how many requests are inside it at once."""

    def __init__(self) -> None:
        self.inside = 0
        self.most = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.inside += 1
        self.most = max(self.most, self.inside)
        await anyio.sleep(0.01)  # a request's work: gives the others their chance to enter
        self.inside -= 1
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def test_requests_past_the_limit_wait_their_turn() -> None:
    probe = Probe()
    app = AdmissionMiddleware(probe, limit=3)
    statuses: list[int] = []

    async def main() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:

            async def one() -> None:
                statuses.append((await client.get("/")).status_code)

            async with anyio.create_task_group() as group:
                for _ in range(20):
                    group.start_soon(one)

    anyio.run(main)
    assert statuses == [200] * 20
    assert probe.most == 3
