"""Idempotency-Key on the POSTs that create: a retry with the same key and body gets what the
first call made (201, its body, `Idempotent-Replayed: true`) and creates or enqueues nothing.

The key is claimed before the resource is made, in the request's own transaction, so it
commits (or rolls back) with the resource. Two concurrent requests with one key meet at the
unique (owner, key) index: the second insert waits for the first transaction and, once that
commits, fails; the second request then replays the winner instead of creating a twin.

A key is remembered FITQ_IDEMPOTENCY_KEY_HOURS: an older one is forgotten when it comes again
(the request is new) or by the reconciler's pass (worker/reconciler.py), so the table holds
about a day of keys, not every key ever sent."""

import hashlib
import json
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import Header, Request, Response
from fastapi.exceptions import RequestValidationError
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models.settings import get_settings
from models.tables import LOCAL_OWNER, Experiment, IdempotencyKey, Study

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
UNSETTLED = 0  # resource_id until the resource exists, within the claiming transaction

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias=HEADER,
        min_length=1,
        max_length=255,
        description=(
            "Any unique string (a UUID): a retry with the same key and the same body returns "
            "what the first request created, with `Idempotent-Replayed: true`, and creates "
            "nothing; the same key with another body is a 422."
        ),
    ),
]


def request_hash(method: str, path: str, body: Any) -> str:
    """Of the parsed body, keys sorted: whitespace or key order do not make another request."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


def _existing(session: Session, owner: str, key: str, digest: str) -> int | None:
    row = session.scalar(
        select(IdempotencyKey).where(IdempotencyKey.owner == owner, IdempotencyKey.key == key)
    )
    if row is None:
        return None
    if row.request_hash != digest:
        msg = (
            f"the {HEADER} '{key}' was already used with another request; send a new key for "
            "a new request"
        )
        error = {"type": "idempotency_key_reused", "loc": ("header", HEADER), "msg": msg}
        raise RequestValidationError([error])
    return row.resource_id


def claim(
    session: Session, owner: str, key: str, digest: str, resource: str, expired: datetime
) -> int | None:
    """None when this request owns the key (call settle() with what it creates); otherwise
    the id of what the first request with this key created, to replay. A key created before
    `expired` is forgotten first: this request is a new one."""
    session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.owner == owner,
            IdempotencyKey.key == key,
            IdempotencyKey.created_at < expired,
        )
    )
    found = _existing(session, owner, key, digest)
    if found is not None:
        return found
    row = IdempotencyKey(
        owner=owner, key=key, request_hash=digest, resource=resource, resource_id=UNSETTLED
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()  # waits here on a concurrent request with the same key
    except IntegrityError:
        found = _existing(session, owner, key, digest)
        if found is None:  # pragma: no cover - the winner's row is committed by now
            raise
        return found
    return None


def settle(session: Session, owner: str, key: str, resource_id: int) -> None:
    session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.owner == owner, IdempotencyKey.key == key)
        .values(resource_id=resource_id)
    )
    session.flush()


def mark_replayed(response: Response) -> None:
    response.headers[REPLAYED] = "true"


T = TypeVar("T", Experiment, Study)


def create_once(
    session: Session,
    request: Request,
    response: Response,
    body: Any,
    key: str | None,
    create: Callable[[], T],
    table: type[T],
    owner: str = LOCAL_OWNER,
) -> T:
    """What the first request with `key` created (replayed), or a new one from create()."""
    if not key:
        return create()
    digest = request_hash(request.method, request.url.path, body)
    # Per request: a changed setting applies at once.
    expired = IdempotencyKey.expired_before(get_settings().idempotency_key_hours)
    replayed = claim(session, owner, key, digest, table.__tablename__, expired)
    if replayed:
        mark_replayed(response)
        return session.get_one(table, replayed)
    made = create()
    settle(session, owner, key, made.id)
    return made
