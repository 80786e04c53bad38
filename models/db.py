"""Engine and session_scope() built from settings; after-commit hooks for enqueueing."""

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

from models.settings import get_settings

log = logging.getLogger(__name__)
_AFTER_COMMIT = "fitq_after_commit"
# Every engine's pool holds at most POOL_SIZE + MAX_OVERFLOW connections; the API sizes its
# admission to match (see api/core/admission.py).
POOL_SIZE, MAX_OVERFLOW = 5, 10
MAX_CONNECTIONS = POOL_SIZE + MAX_OVERFLOW
# libpq waits forever for a server that accepts no connection (unreachable, or frozen): with
# this a request during such an outage fails in seconds, and the API answers 503
# (api/core/outage.py). libpq advises at least 2 s.
CONNECT_TIMEOUT_SECONDS = 3


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"timeout": 30, "check_same_thread": False},
            pool_size=POOL_SIZE,
            max_overflow=MAX_OVERFLOW,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # A connect_timeout in the URL's query wins.
    timeout = (
        {}
        if "connect_timeout" in make_url(url).query
        else {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
    )
    return create_engine(
        url,
        connect_args=timeout,
        pool_pre_ping=True,
        pool_size=POOL_SIZE,
        max_overflow=MAX_OVERFLOW,
    )


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets the API read while the worker writes an epoch; busy_timeout waits out the
    # other process's write lock instead of failing with "database is locked".
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    # NORMAL is crash-safe in WAL mode and skips an fsync on every epoch's commit.
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


@lru_cache
def get_engine() -> Engine:
    return make_engine(get_settings().database_url)


@lru_cache
def get_sessionmaker() -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(), expire_on_commit=False)


@contextmanager
def session_scope() -> Iterator[Session]:
    """The transaction edge of a worker's job, a CLI command and an API request (the request's
    session dependency, api/core/deps.py): commit on success, roll back on any error."""
    session = get_sessionmaker()()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def statement_scope() -> Iterator[Connection]:
    """A connection whose every statement commits on its own: the edge for a single statement
    that is its own transaction (the worker's heartbeats and epoch writes), which skips the
    BEGIN and COMMIT round trips a session makes."""
    with get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as link:
        yield link


def after_commit(session: Session, action: Callable[[], None]) -> None:
    """Run `action` once the session's transaction has committed (e.g. enqueue a task by id)."""
    session.info.setdefault(_AFTER_COMMIT, []).append(action)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    actions = session.info.pop(_AFTER_COMMIT, [])
    for action in actions:
        action()


@event.listens_for(Session, "after_rollback")
def _drop_after_commit(session: Session) -> None:
    session.info.pop(_AFTER_COMMIT, None)
