"""Epoch writes on PostgreSQL: a batch's epochs as one JSON document and its chunks as
arrays, unpacked by the server, and the worker's fenced write as one statement committed on
its own (a replacement, rare, goes through progress's session instead).

The Pulse thread's CPU is taken from the fit's (the interpreter's lock; BENCHMARKS.md,
"Per-epoch overhead"), and so is each of its round trips: the lock is handed back and forth
with the fit at every one. A write in a session took eight of them (the pool's ping, BEGIN,
the heartbeat's UPDATE, two for each COPY, the epochs' and the chunks', COMMIT; seen in
psycopg's protocol trace); this one takes two (the ping, the statement), and its client work
is one orjson call for all the rows' metrics.
A statement's data-modifying parts commit or fail together, so the fence holds: the epochs
and chunks are inserted only where the heartbeat's UPDATE found the row still this attempt's
(and locked it until the commit, see the delete trigger in migration 0009)."""

from typing import Any

import orjson
from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session

from models.db import statement_scope
from models.series_chunks import chunk_rows
from models.tables import ExperimentStatus, utcnow

# The rows as one JSON document, [[epoch, {metrics}], ...]: one orjson call packs it, where
# psycopg dumped an array's elements one by one in Python (~1 us each).
_EPOCHS = (
    "INSERT INTO epoch_metrics (experiment_id, epoch, metrics, recorded_at)"
    " SELECT :experiment_id, CAST(r.value ->> 0 AS int4), r.value -> 1, :now"
    " FROM jsonb_array_elements(CAST(:rows AS jsonb)) AS r"
)
_CHUNKS = (
    "INSERT INTO metric_chunks (experiment_id, metric, first_epoch, last_epoch, packed)"
    " SELECT :experiment_id, c.metric, :first, :last, c.packed"
    " FROM unnest(CAST(:metric_names AS text[]), CAST(:packed AS bytea[])) AS c(metric, packed)"
)
EPOCHS, CHUNKS = text(_EPOCHS), text(_CHUNKS)
# attempt NULL: an unfenced write (tests and tools).
FENCED_WRITE = text(
    "WITH beat AS (UPDATE experiments SET heartbeat_at = :now, current_epoch = :last"
    f" WHERE id = :experiment_id AND status = '{ExperimentStatus.RUNNING.value}'"
    " AND (CAST(:attempt AS int4) IS NULL OR attempts = :attempt)"
    " RETURNING cancel_requested),"
    f" epochs AS ({_EPOCHS} WHERE EXISTS (SELECT FROM beat)),"
    f" chunks AS ({_CHUNKS} WHERE EXISTS (SELECT FROM beat))"
    " SELECT cancel_requested FROM beat"
)


def supported(bind: Engine | Connection) -> bool:
    return bind.dialect.name == "postgresql"


def write(experiment_id: int, attempt: int | None, rows: list[tuple[int, dict]]) -> bool | None:
    """The fenced write in a statement of its own: the cancel flag, None when the job is no
    longer this attempt's (nothing written). An epoch already stored raises IntegrityError."""
    parameters = _parameters(experiment_id, rows, attempt=attempt)
    with statement_scope() as link:
        cancel = link.execute(FENCED_WRITE, parameters).scalar_one_or_none()
    return None if cancel is None else bool(cancel)


def store(session: Session, experiment_id: int, rows: list[tuple[int, dict]]) -> None:
    """The epochs and chunks alone, unfenced."""
    parameters = _parameters(experiment_id, rows)
    session.execute(EPOCHS, parameters)
    session.execute(CHUNKS, parameters)


def _parameters(experiment_id: int, rows: list[tuple[int, dict]], **more: Any) -> dict:
    """rows: (epoch, metrics), the metrics numbers, as Keras logs them (orjson writes a
    non-finite one as null, the chunks hold it as NaN: as progress.clean_metrics does)."""
    chunks = chunk_rows(experiment_id, rows)
    return {
        "experiment_id": experiment_id,
        "now": utcnow(),
        "first": rows[0][0],
        "last": rows[-1][0],
        "rows": orjson.dumps(rows, option=orjson.OPT_SERIALIZE_NUMPY).decode(),
        "metric_names": [chunk["metric"] for chunk in chunks],
        "packed": [chunk["packed"] for chunk in chunks],
        **more,
    }
