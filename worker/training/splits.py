"""What a dataset loader returns (RawSplits) and what a fit takes (LoadedData).

Features are numpy arrays; multi-hot text asked for as "words" is int32 word indices per row,
-1 padded (word_kernels.py), with `width` the multi-hot width the model sees."""

from dataclasses import dataclass

import numpy as np

Pair = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class RawSplits:
    """What a loader returns: training arrays and, if the dataset has one, a test split."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    width: int | None = None  # word-index rows: the multi-hot width they stand for


@dataclass(frozen=True)
class LoadedData:
    x_train: np.ndarray
    y_train: np.ndarray
    validation: Pair | None = None
    test: Pair | None = None
    width: int | None = None

    @property
    def input_shape(self) -> tuple[int, ...]:
        """The rows' shape as the model's spec sees them (multi-hot width for word indices)."""
        if self.width is not None:
            return (self.width,)
        return tuple(int(d) for d in self.x_train.shape[1:])

    @property
    def nbytes(self) -> int:
        return sum(int(a.nbytes) for a in buffers(self))


def buffers(data: LoadedData) -> list[np.ndarray]:
    """Every numpy array the data holds."""
    return [data.x_train, data.y_train, *(data.validation or ()), *(data.test or ())]
