"""Packing and unpacking metric_chunks rows (see MetricChunk): what the worker writes with
each batch of epochs and what the API reads a series from. Pure functions: the SQL is the
worker's (epoch_store.py) and the API's (api/core/series.py)."""

from collections.abc import Mapping, Sequence
from itertools import pairwise
from typing import Any, NamedTuple

import numpy as np

PACKED = np.dtype("<f8")


def chunk_rows(
    experiment_id: int, rows: Sequence[tuple[int, Mapping[str, float | None]]]
) -> list[dict[str, Any]]:
    """One metric_chunks row per metric named in `rows` (epoch, metrics), which must be
    consecutive epochs; [] when they are not, and the series is then read from epoch_metrics."""
    if not rows:
        return []
    first, last = rows[0][0], rows[-1][0]
    if last - first + 1 != len(rows) or any(b[0] != a[0] + 1 for a, b in pairwise(rows)):
        return []
    names = sorted({name for _, metrics in rows for name in metrics})
    return [
        {
            "experiment_id": experiment_id,
            "metric": name,
            "first_epoch": first,
            "last_epoch": last,
            "packed": _packed([m.get(name) for _, m in rows]),
        }
        for name in names
    ]


def _packed(values: list[Any]) -> bytes:
    """NaN for None (not logged that epoch, or cleaned) and for a non-finite value, as the
    epoch's JSON has null."""
    array = np.array(values, PACKED)
    array[~np.isfinite(array)] = np.nan
    return array.tobytes()


class Chunk(NamedTuple):
    first_epoch: int
    last_epoch: int
    packed: bytes


def unpack(chunks: Sequence[Chunk], first: int, last: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Epochs first..last (int64) and their values (float64) from chunks in first_epoch
    order, or None unless the chunks cover exactly those epochs without a gap or a torn one
    (then epoch_metrics is the answer)."""
    if not chunks or chunks[0].first_epoch > first or chunks[-1].last_epoch != last:
        return None
    if any(b.first_epoch != a.last_epoch + 1 for a, b in pairwise(chunks)):
        return None
    if any(len(c.packed) != PACKED.itemsize * (c.last_epoch - c.first_epoch + 1) for c in chunks):
        return None
    start = chunks[0].first_epoch
    values = np.frombuffer(b"".join(c.packed for c in chunks), PACKED)[first - start :]
    return np.arange(first, last + 1, dtype=np.int64), values.astype(np.float64)
