"""Packing a batch of epochs into metric_chunks rows and reading a series back from them."""

import numpy as np

from models.series_chunks import Chunk, chunk_rows, unpack


def chunks_of(rows: list[tuple[int, dict]], metric: str) -> list[Chunk]:
    return [
        Chunk(r["first_epoch"], r["last_epoch"], r["packed"])
        for r in chunk_rows(7, rows)
        if r["metric"] == metric
    ]


def test_a_batch_packs_one_row_per_metric_with_nan_for_null_missing_and_non_finite() -> None:
    rows: list[tuple[int, dict]] = [
        (3, {"loss": 1.0, "val_loss": 2.0}), (4, {"loss": None}), (5, {"loss": 0.5}),
        (6, {"loss": float("inf"), "val_loss": float("nan")}),
    ]  # fmt: skip
    packed = chunk_rows(7, rows)
    assert [(r["metric"], r["first_epoch"], r["last_epoch"]) for r in packed] == [
        ("loss", 3, 6),
        ("val_loss", 3, 6),
    ]
    found = unpack(chunks_of(rows, "val_loss"), 3, 6)
    assert found is not None and found[0].tolist() == [3, 4, 5, 6]
    assert np.array_equal(found[1], [2.0, np.nan, np.nan, np.nan], equal_nan=True)
    loss = unpack(chunks_of(rows, "loss"), 3, 6)  # a non-finite value is NaN, as JSON's null
    assert loss is not None and np.array_equal(loss[1], [1.0, np.nan, 0.5, np.nan], equal_nan=True)


def test_non_consecutive_epochs_are_not_packed() -> None:
    assert chunk_rows(7, [(1, {"loss": 1.0}), (3, {"loss": 0.5})]) == []
    assert chunk_rows(7, []) == []


def test_a_series_is_read_from_the_chunks_that_cover_it() -> None:
    first = chunks_of([(e, {"loss": float(e)}) for e in range(1, 5)], "loss")
    second = chunks_of([(e, {"loss": float(e)}) for e in range(5, 9)], "loss")
    found = unpack(first + second, 3, 8)  # from epoch 3: the first chunk's tail
    assert found is not None
    assert found[0].tolist() == list(range(3, 9)) and found[1].tolist() == [3.0, 4, 5, 6, 7, 8]


def test_chunks_that_do_not_cover_the_epochs_give_none() -> None:
    first = chunks_of([(e, {"loss": 1.0}) for e in range(1, 5)], "loss")
    third = chunks_of([(e, {"loss": 1.0}) for e in range(9, 11)], "loss")
    torn = [Chunk(5, 8, b"\0" * 8)]  # four epochs, one value
    assert unpack(first + third, 1, 10) is None  # a gap: 5..8 missing
    assert unpack(first, 1, 6) is None  # rows past the last chunk (written before 0008)
    assert unpack(third, 1, 10) is None  # rows before the first chunk
    assert unpack(first + torn, 1, 8) is None
    assert unpack([], 1, 1) is None
