"""An oversized upload is refused while it streams in: the API reads little past the limit."""

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.types import Message

from api.main import create_app
from models.settings import get_settings

LIMIT = 256 * 1024
CHUNK = b"1,2,3\n" * 10_000  # 60 kB


@pytest.fixture
def small_limit(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("FITQ_MAX_UPLOAD_BYTES", str(LIMIT))
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


def call_with_endless_body() -> tuple[list[Message], int]:
    """POST /datasets with a chunked multipart body that never ends (no Content-Length)."""
    scope: dict[str, Any] = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/datasets", "raw_path": b"/datasets", "root_path": "",
        "query_string": b"", "server": ("test", 80), "client": ("test", 1),
        "headers": [(b"content-type", b"multipart/form-data; boundary=XyZ")],
    }  # fmt: skip
    head = b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n\r\n'
    pulled = 0
    sent: list[Message] = []

    async def receive() -> Message:
        nonlocal pulled
        pulled += 1
        return {"type": "http.request", "body": head if pulled == 1 else CHUNK, "more_body": True}

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(create_app()(scope, receive, send))
    return sent, pulled


def test_endless_upload_is_cut_off_past_the_limit(small_limit: None) -> None:
    sent, pulled = call_with_endless_body()
    assert sent[0]["status"] == 413
    body = json.loads(b"".join(m.get("body", b"") for m in sent[1:]))
    [error] = body["detail"]
    assert error["msg"] == f"the upload is larger than {LIMIT} bytes (FITQ_MAX_UPLOAD_BYTES)"
    assert (error["path"], error["type"]) == ("file", "too_large")
    # The limit plus the form's allowance, in 60 kB chunks, and not one chunk more.
    assert pulled <= (LIMIT + 64 * 1024) // len(CHUNK) + 2
