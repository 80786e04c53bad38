"""What every upload format parses to, and how a problem with the file is reported."""

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

HeaderChoice = Literal["auto", "yes", "no"]
# Labels with at most this many distinct integer values are listed as the dataset's classes.
MAX_CLASSES = 1000
_INT32 = np.iinfo(np.int32)


class UploadError(Exception):
    """A file that cannot become a dataset. `field` is the form field at fault; `ctx` says
    where in numbers (line, column, array) so a client can point at it."""

    def __init__(
        self, kind: str, msg: str, field: str = "file", status: int = 422, **ctx: Any
    ) -> None:
        super().__init__(msg)
        self.kind, self.msg, self.field, self.status, self.ctx = kind, msg, field, status, ctx

    def detail(self) -> list[dict[str, Any]]:
        """The same shape as api/core/errors.py gives request validation errors."""
        loc = ["body", self.field]
        return [
            {"path": self.field, "msg": self.msg, "type": self.kind, "loc": loc, "ctx": self.ctx}
        ]


@dataclass(frozen=True)
class ParsedDataset:
    """Arrays ready to store: float32 features, int32 or float32 labels."""

    format: Literal["csv", "npz"]
    x: np.ndarray
    y: np.ndarray
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    label: str | None = None
    # The resolved parse choices; with the file's hash they make the content address, so the
    # same bytes parsed the same way (however the options were spelled) are one dataset.
    options: str = ""

    def arrays(self) -> dict[str, np.ndarray]:
        named = {"x": self.x, "y": self.y, "x_test": self.x_test, "y_test": self.y_test}
        return {key: value for key, value in named.items() if value is not None}

    @property
    def test_rows(self) -> int:
        return 0 if self.x_test is None else len(self.x_test)

    def classes(self) -> list[int] | None:
        """Distinct labels when they look categorical: 1-D integers, not too many."""
        if self.y.ndim != 1 or self.y.dtype != np.int32:
            return None
        values = self.y if self.y_test is None else np.concatenate([self.y, self.y_test])
        distinct = np.unique(values)
        return [int(v) for v in distinct] if len(distinct) <= MAX_CLASSES else None


def as_labels(y: np.ndarray) -> np.ndarray:
    """int32 when every label is a whole number that fits, else float32."""
    if y.dtype.kind == "b":
        return y.astype(np.int32)
    whole = y.dtype.kind in "iu" or bool(np.all(np.mod(y, 1) == 0))
    if whole and (y.size == 0 or (y.min() >= _INT32.min and y.max() <= _INT32.max)):
        return y.astype(np.int32)
    return y.astype(np.float32)


def describe_cell(cell: str, limit: int = 40) -> str:
    return repr(cell if len(cell) <= limit else cell[:limit] + "…")
