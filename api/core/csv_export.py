"""Histories as CSV: a header of key columns and every recorded metric (sorted), one line an
epoch, a missing or non-finite value empty, floats as Python writes them back exactly."""

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"


def history_csv(
    keys: Sequence[str], rows: Iterable[tuple[Sequence[Any], Mapping[str, Any]]]
) -> str:
    """`rows`: (the key columns' values, the epoch's metrics)."""
    materialized = list(rows)
    metrics = sorted({name for _, values in materialized for name in values})
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*keys, *metrics])
    for key_values, values in materialized:
        writer.writerow([*key_values, *(_cell(values.get(name)) for name in metrics)])
    return out.getvalue()


def _cell(value: Any) -> str:
    return "" if value is None else repr(float(value))


def wants_csv(accept: str | None) -> bool:
    """Whether an Accept header asks for CSV before JSON (`text/csv` listed, and not after
    `application/json`)."""
    if not accept or "text/csv" not in accept:
        return False
    json_at = accept.find("application/json")
    return json_at == -1 or accept.find("text/csv") < json_at
