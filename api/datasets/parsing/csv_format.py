"""CSV uploads: numeric cells, one label column, an optional header row.

Memory: a line wider than FITQ_MAX_FEATURES columns is refused before the csv module splits
it; rows are read one at a time, features into a flat array of float32 (4 bytes a cell, and
a cell takes at least 2 bytes of the file: a digit and a delimiter) that becomes the feature
matrix without a copy, labels into one of doubles. So the parse peaks at about 2.5 x the file
(tests/unit/api/datasets/parsing/test_upload_memory.py holds it to MEMORY_FACTOR)."""

import csv
import io
from array import array
from collections.abc import Iterator
from typing import IO, Any

import numpy as np

from api.datasets.parsing.common import (
    HeaderChoice,
    ParsedDataset,
    UploadError,
    as_labels,
    describe_cell,
)
from models.spec_base import NUL_MESSAGE, NUL_TYPE

_FLOAT32_MAX = float(np.finfo(np.float32).max)
_DELIMITERS = (",", ";", "\t")
_MAX_LISTED_COLUMNS = 50


Row = tuple[int, list[str]]  # (line number, cells)


# The parse's peak memory is at most this many times the file's size (stated in docs/spec.md).
MEMORY_FACTOR = 3


def parse_csv(
    stream: IO[bytes], label: str | None, header: HeaderChoice, max_rows: int, max_features: int
) -> ParsedDataset:
    delimiter = _delimiter(stream.read(64 * 1024))
    stream.seek(0)
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    lines = _narrow_lines(text, delimiter, max_features + 1)
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    # A blank line (often a trailing newline) is not a row with missing cells.
    rows: Iterator[Row] = ((reader.line_num, row) for row in reader if row)
    try:
        first = next(rows, None)
        if first is None:
            raise UploadError("empty_file", "the file holds no rows")
        cells = first[1]
        has_header = header == "yes" or (header == "auto" and not all(map(_is_number, cells)))
        columns = [c.strip() for c in cells] if has_header else [str(i) for i in range(len(cells))]
        _check_names(columns)
        if len(columns) < 2:
            raise UploadError(
                "too_few_columns", "a CSV needs at least 2 columns: features and a label"
            )
        target = _label_index(label, columns, has_header)
        data_rows = rows if has_header else _chain(first, rows)
        features, labels, count = _read_values(data_rows, columns, target, max_rows)
    except UnicodeDecodeError as exc:
        raise UploadError("not_text", f"the file is not UTF-8 text: {exc.reason}") from None
    except csv.Error as exc:
        line = reader.line_num
        raise UploadError("csv_syntax", f"line {line}: {exc}", line=line) from None
    finally:
        text.detach()  # the upload's file stays open for its owner to close
    if count == 0:
        raise UploadError("no_rows", "the file has a header but no data rows")
    return ParsedDataset(
        format="csv",
        x=np.frombuffer(features, dtype=np.float32).reshape(count, len(columns) - 1),
        y=as_labels(np.frombuffer(labels, dtype=np.float64)),
        label=columns[target],
        options=f"csv;label={target};header={int(has_header)};delimiter={delimiter!r}",
    )


def _check_names(columns: list[str]) -> None:
    """A column name may become the dataset's label, stored as text (no NUL in PostgreSQL)."""
    for index, name in enumerate(columns):
        if "\x00" in name:
            raise UploadError(
                NUL_TYPE, f"line 1, column {index}: the column name {NUL_MESSAGE}",
                line=1, column_index=index,
            )  # fmt: skip


def _narrow_lines(text: Iterator[str], delimiter: str, max_columns: int) -> Iterator[str]:
    """The file's lines, refusing one with more than max_columns cells before the csv module
    splits it into a list of that many strings (a delimiter inside quotes counts too: the
    count is an upper bound, so a file within the limit is never refused)."""
    for number, line in enumerate(text, start=1):
        if line.count(delimiter) >= max_columns:
            raise UploadError(
                "too_many_columns",
                f"line {number} has more than {max_columns:,} columns; this server allows at "
                f"most {max_columns - 1:,} features and a label (FITQ_MAX_FEATURES)",
                status=413, line=number, max_features=max_columns - 1,
            )  # fmt: skip
        yield line


def _delimiter(head: bytes) -> str:
    """The most frequent of comma, semicolon and tab on the first line."""
    line = head.split(b"\n", 1)[0].decode("utf-8", errors="ignore")
    return max(_DELIMITERS, key=line.count)


def _chain(first: Row, rest: Iterator[Row]) -> Iterator[Row]:
    yield first
    yield from rest


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _label_index(label: str | None, columns: list[str], has_header: bool) -> int:
    if label is None or not label.strip():
        return len(columns) - 1
    wanted = label.strip()
    named = [i for i, name in enumerate(columns) if name == wanted] if has_header else []
    if len(named) > 1:
        raise UploadError(
            "label_ambiguous", f"label '{wanted}' names {len(named)} columns", field="label"
        )
    if named:
        return named[0]
    if wanted.isascii() and wanted.isdigit():
        if int(wanted) < len(columns):
            return int(wanted)
        raise UploadError(
            "label_out_of_range",
            f"label column index {wanted} is out of range: the file has {len(columns)} "
            f"columns (0 to {len(columns) - 1})",
            field="label",
            label=wanted,
            columns=columns[:_MAX_LISTED_COLUMNS],
        )
    shown = ", ".join(columns[:_MAX_LISTED_COLUMNS])
    extra = len(columns) - _MAX_LISTED_COLUMNS
    more = f" and {extra} more" if extra > 0 else ""
    raise UploadError(
        "label_not_found",
        f"label column '{wanted}' not found; the columns are: {shown}{more}"
        + ("" if has_header else " (the file has no header row: give a 0-based index)"),
        field="label",
        label=wanted,
        columns=columns[:_MAX_LISTED_COLUMNS],
    )


def _read_values(
    rows: Iterator[Row], columns: list[str], target: int, max_rows: int
) -> tuple["array[float]", "array[float]", int]:
    """Features (float32) and labels (float64, so whole numbers up to int32 stay exact)."""
    features: array[float] = array("f")
    labels: array[float] = array("d")
    count = 0
    for line, row in rows:
        if len(row) != len(columns):
            raise UploadError(
                "ragged_row", f"line {line} has {len(row)} columns, expected {len(columns)}",
                line=line, expected=len(columns), got=len(row),
            )  # fmt: skip
        try:
            numbers = [float(cell) for cell in row]
        except ValueError:
            raise _cell_problem(row, columns, line) from None
        if not all(-_FLOAT32_MAX <= v <= _FLOAT32_MAX for v in numbers):  # NaN fails both
            raise _cell_problem(row, columns, line)
        count += 1
        if count > max_rows:
            raise UploadError(
                "too_many_rows", f"more than {max_rows} rows (FITQ_MAX_DATASET_ROWS)",
                status=413, max_rows=max_rows,
            )  # fmt: skip
        labels.append(numbers.pop(target))
        features.extend(numbers)
    return features, labels, count


def _cell_problem(row: list[str], columns: list[str], line: int) -> UploadError:
    """Name the first bad cell of a row: empty, not a number, or not a finite float32."""
    for index, cell in enumerate(row):
        where = f"line {line}, column '{columns[index]}' ({index})"
        ctx: dict[str, Any] = {
            "line": line,
            "column": columns[index],
            "column_index": index,
            "cell": cell[:40],
        }
        if not cell.strip():
            return UploadError("empty_cell", f"{where} is empty", **ctx)
        if not _is_number(cell):
            return UploadError(
                "not_a_number", f"{where}: {describe_cell(cell)} is not a number", **ctx
            )
        if not -_FLOAT32_MAX <= float(cell) <= _FLOAT32_MAX:
            return UploadError(
                "not_finite", f"{where}: {describe_cell(cell)} is not a finite number", **ctx
            )
    raise AssertionError("no bad cell in the row")  # only called for a row that has one
