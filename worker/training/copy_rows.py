"""epoch_metrics rows in PostgreSQL's binary COPY format, built in one piece.

psycopg's `Copy.write_row` with its jsonb dumper spent ~5 us of Python a row; the Pulse
thread's CPU is what it can take from a fit of millisecond epochs (BENCHMARKS.md, "Per-epoch
overhead"), and packing the rows here takes about a third of that. Binary, not text: the
server parses a text timestamp for every row, which cost it more than the client saved. The
format: https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.4"""

import struct
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

import orjson

COPY_EPOCHS = (
    "COPY epoch_metrics (experiment_id, epoch, metrics, recorded_at) FROM STDIN (FORMAT BINARY)"
)
_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)  # no flags, no extension
_TRAILER = struct.pack(">h", -1)
# Four fields; int4 experiment_id and epoch; the jsonb's length and its format version (1).
_ROW = struct.Struct(">hiiiiib")
_TIMESTAMP = struct.Struct(">iq")  # timestamptz: microseconds since 2000-01-01 UTC
_POSTGRES_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


Metrics = Mapping[str, float | None]


def epoch_rows(
    experiment_id: int, rows: Sequence[tuple[int, Metrics]], recorded_at: datetime
) -> bytes:
    """The whole COPY stream for `rows` (epoch, metrics), each recorded at `recorded_at`."""
    micros = (recorded_at - _POSTGRES_EPOCH) // timedelta(microseconds=1)
    stamp = _TIMESTAMP.pack(8, micros)
    parts = [_SIGNATURE]
    for epoch, metrics in rows:
        document = orjson.dumps(metrics)
        head = _ROW.pack(4, 4, experiment_id, 4, epoch, len(document) + 1, 1)
        # Joined here: orjson's output kept alive in the list cost ~4 us more a row.
        parts.append(head + document + stamp)
    parts.append(_TRAILER)
    return b"".join(parts)
