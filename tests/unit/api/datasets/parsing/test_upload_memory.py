"""The upload parsers stay within a stated multiple of the file (docs/spec.md, "Your own data"):
measured with tracemalloc, which counts numpy's and Python's allocations alike."""

import io
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from api.datasets.parsing import csv_format, npz_format
from api.datasets.parsing.common import UploadError
from tests.helpers import npz_bytes

MAX_ROWS = 5_000_000
MAX_FEATURES = 100_000


def peak_bytes(parse: Callable[[], Any]) -> tuple[int, Any]:
    tracemalloc.start()
    try:
        result = parse()
        return tracemalloc.get_traced_memory()[1], result
    finally:
        tracemalloc.stop()


def narrowest_csv(rows: int, columns: int) -> bytes:
    """One digit a cell: the most cells (so the most parsed numbers) per byte of file."""
    row = ",".join(str(i % 10) for i in range(columns)) + "\n"
    return row.encode() * rows


def parse_csv(content: bytes, max_features: int = MAX_FEATURES) -> Any:
    return csv_format.parse_csv(io.BytesIO(content), None, "no", MAX_ROWS, max_features)


def test_a_csv_parses_within_its_stated_multiple_of_the_file() -> None:
    content = narrowest_csv(rows=20_000, columns=100)  # 4 MB, 2 million cells
    peak, parsed = peak_bytes(lambda: parse_csv(content))
    assert parsed.x.shape == (20_000, 99)
    assert peak <= csv_format.MEMORY_FACTOR * len(content), peak / len(content)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_an_npz_parses_within_its_stated_multiple_of_the_arrays(dtype: type) -> None:
    # float64 needs a float32 copy (half its size); float32 needs none at all.
    rng = np.random.default_rng(0)
    x: np.ndarray = rng.normal(size=(5_000, 100)).astype(dtype)
    content = npz_bytes(x=x, y=rng.integers(0, 2, 5_000))
    peak, parsed = peak_bytes(
        lambda: npz_format.parse_npz(io.BytesIO(content), len(content) * 2, MAX_ROWS, MAX_FEATURES)
    )
    assert parsed.x.shape == (5_000, 100)
    assert peak <= npz_format.MEMORY_FACTOR * len(content), peak / len(content)


def test_a_csv_line_past_the_column_limit_is_refused_before_it_is_split() -> None:
    # The file: one line of numbers. Split by the csv module, a 4 MB line would be a
    # list of 2 million strings (~120 MB); refused from the line, it costs about the line.
    content = narrowest_csv(rows=1, columns=2_000_000)
    with pytest.raises(UploadError) as refused:
        peak_bytes(lambda: parse_csv(content))
    assert refused.value.status == 413 and refused.value.kind == "too_many_columns"
    assert "FITQ_MAX_FEATURES" in refused.value.msg
    tracemalloc.start()
    try:
        with pytest.raises(UploadError):
            parse_csv(content)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak <= csv_format.MEMORY_FACTOR * len(content), peak / len(content)


def test_a_later_wide_line_is_refused_too() -> None:
    content = narrowest_csv(rows=3, columns=5) + narrowest_csv(rows=1, columns=20)
    with pytest.raises(UploadError) as refused:
        parse_csv(content, max_features=10)
    assert refused.value.ctx["line"] == 4
    assert "more than 11 columns" in refused.value.msg


def test_an_npz_wider_than_the_limit_is_refused_from_its_header() -> None:
    content = npz_bytes(x=np.zeros((2, 3, 4), np.float32), y=np.zeros(2))
    with pytest.raises(UploadError) as refused:
        npz_format.parse_npz(io.BytesIO(content), 10**6, MAX_ROWS, max_features=11)
    assert refused.value.status == 413 and refused.value.kind == "too_many_features"
    assert refused.value.ctx["features"] == 12
