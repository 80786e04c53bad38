"""HTTP to a fitq API: the base URL and key from the environment, the API's error shape read
back as lines `path: message`, and exit codes a shell can act on."""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import typer

# 0: done (and, for a run, succeeded); 1: the run ended otherwise; 2: the API refused the
# request; 3: no API answered.
RUN_DID_NOT_SUCCEED, REFUSED, UNREACHABLE = 1, 2, 3


class Api:
    def __init__(self, url: str, key: str | None) -> None:
        headers = {} if not key else {"Authorization": f"Bearer {key}"}
        self.http = httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=60)

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The answer when it is a success; else the API's message on stderr and an exit."""
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            fail(f"no fitq API at {self.http.base_url} ({type(exc).__name__})", UNREACHABLE)
        if response.is_error:
            fail(error_text(response), REFUSED)
        return response

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.call(method, path, **kwargs).json()

    @contextmanager
    def stream(self, path: str, headers: dict[str, str]) -> Iterator[httpx.Response]:
        try:
            with self.http.stream("GET", path, headers=headers, timeout=None) as response:
                if response.is_error:
                    response.read()
                    fail(error_text(response), REFUSED)
                yield response
        except httpx.TransportError as exc:
            fail(f"no fitq API at {self.http.base_url} ({type(exc).__name__})", UNREACHABLE)


def error_text(response: httpx.Response) -> str:
    """fitq's one error shape, {"detail": [{"path", "msg", ...}]}, as `path: msg` lines."""
    try:
        body = response.json()
    except json.JSONDecodeError:
        return f"HTTP {response.status_code}: {response.text[:500]}"
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, list) and detail:
        return "\n".join(f"{item.get('path')}: {item.get('msg')}" for item in detail)
    return f"HTTP {response.status_code}: {detail or body}"


def fail(message: str, code: int) -> typer.Exit:
    typer.echo(message, err=True)
    raise typer.Exit(code)
