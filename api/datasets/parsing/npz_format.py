"""NPZ uploads: arrays x and y, optionally x_test and y_test, read without pickle.

The sizes the zip declares are checked before anything is unpacked: the zip reader never
inflates a member past its declared size, so a small archive cannot expand without bound.
The features per sample are read from x's header before its data, and the arrays are
converted in place where they already are float32, so the parse peaks at about 1.6 x the
unpacked arrays (float64 x: itself, its float32 copy, a finiteness mask)."""

import math
import zipfile
from typing import IO, NoReturn

import numpy as np

from api.datasets.parsing.common import ParsedDataset, UploadError, as_labels

REQUIRED = ("x", "y")
OPTIONAL = ("x_test", "y_test")
_NUMERIC_KINDS = "biuf"
_HEADER_READERS = {
    (1, 0): np.lib.format.read_array_header_1_0,
    (2, 0): np.lib.format.read_array_header_2_0,
}  # bool, signed, unsigned, float: no objects, strings or complex


# The parse's peak memory is at most this many times the arrays' unpacked size (docs/spec.md).
MEMORY_FACTOR = 2


def parse_npz(stream: IO[bytes], max_bytes: int, max_rows: int, max_features: int) -> ParsedDataset:
    try:
        archive = zipfile.ZipFile(stream)
    except zipfile.BadZipFile as exc:
        raise UploadError("npz_invalid", f"not a valid NPZ (zip) file: {exc}") from None
    with archive:
        members = {info.filename.removesuffix(".npy"): info for info in archive.infolist()}
        _check_names(set(members))
        unpacked = sum(info.file_size for info in members.values())
        if unpacked > max_bytes:
            raise UploadError(
                "npz_too_large",
                f"the arrays unpack to {unpacked} bytes, more than the {max_bytes} allowed "
                "(FITQ_MAX_UPLOAD_BYTES)",
                status=413, unpacked_bytes=unpacked, max_bytes=max_bytes,
            )  # fmt: skip
        for name in ("x", "x_test"):
            if name in members:
                _check_features(archive, members[name], name, max_features)
        arrays = {name: _read(archive, info, name) for name, info in members.items()}
    _check_shapes(arrays)
    rows = len(arrays["x"]) + (len(arrays["x_test"]) if "x_test" in arrays else 0)
    if rows > max_rows:
        raise UploadError(
            "too_many_rows", f"{rows} samples, more than {max_rows} (FITQ_MAX_DATASET_ROWS)",
            status=413, rows=rows, max_rows=max_rows,
        )  # fmt: skip
    converted = {
        name: a.astype(np.float32, copy=False) for name, a in arrays.items() if name[0] == "x"
    }
    converted |= _labels(arrays["y"], arrays.get("y_test"))
    for name, array in converted.items():
        _check_finite(name, array)
    return ParsedDataset(
        format="npz",
        x=converted["x"],
        y=converted["y"],
        x_test=converted.get("x_test"),
        y_test=converted.get("y_test"),
        options="npz",
    )


def _labels(y: np.ndarray, y_test: np.ndarray | None) -> dict[str, np.ndarray]:
    """Both splits get one label type: whole numbers in one and fractions in the other are
    float32 in both, so the classes and the loss see the same kind of label."""
    if y_test is None:
        return {"y": as_labels(y)}
    both = as_labels(np.concatenate([y, y_test]))
    return {"y": both[: len(y)], "y_test": both[len(y) :]}


def _check_names(names: set[str]) -> None:
    allowed = ", ".join(REQUIRED + OPTIONAL)
    if unknown := sorted(names - set(REQUIRED + OPTIONAL)):
        raise UploadError(
            "npz_unknown_arrays",
            f"unexpected arrays {', '.join(unknown)}; an NPZ upload holds {allowed}",
            arrays=sorted(names),
        )
    if missing := [name for name in REQUIRED if name not in names]:
        raise UploadError(
            "npz_missing_arrays",
            f"missing array {' and '.join(missing)}; an NPZ upload holds {allowed}",
            arrays=sorted(names),
        )
    if ("x_test" in names) != ("y_test" in names):
        raise UploadError(
            "npz_missing_arrays", "x_test and y_test come together: give both or neither",
            arrays=sorted(names),
        )  # fmt: skip


def _check_features(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, max_features: int
) -> None:
    """Refuse an x wider than FITQ_MAX_FEATURES from its .npy header, before its data."""
    try:
        with archive.open(info) as member:
            version = np.lib.format.read_magic(member)
            if version not in _HEADER_READERS:
                return  # 3.0 is only written for structured dtypes, refused when read
            shape = _HEADER_READERS[version](member)[0]
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise UploadError(
            "npz_invalid", f"array {name} cannot be read: {exc}", array=name
        ) from None
    features = math.prod(shape[1:])
    if len(shape) >= 2 and features > max_features:
        raise UploadError(
            "too_many_features",
            f"{name} has {features:,} features per sample (shape {tuple(shape)}); this server "
            f"allows at most {max_features:,} (FITQ_MAX_FEATURES)",
            status=413, array=name, features=features, max_features=max_features,
        )  # fmt: skip


def _read(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> np.ndarray:
    try:
        with archive.open(info) as member:
            array = np.lib.format.read_array(member, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise UploadError(
            "npz_invalid", f"array {name} cannot be read: {exc}", array=name
        ) from None
    if array.dtype.kind not in _NUMERIC_KINDS:
        raise UploadError(
            "npz_dtype", f"array {name} has dtype {array.dtype}; only numbers can be trained on",
            array=name, dtype=str(array.dtype),
        )  # fmt: skip
    return array


def _check_shapes(arrays: dict[str, np.ndarray]) -> None:
    x, y = arrays["x"], arrays["y"]
    if x.ndim < 2:
        _shape_problem(f"x has shape {x.shape}; it needs a samples axis and feature axes")
    if y.ndim not in (1, 2):
        _shape_problem(f"y has shape {y.shape}; it must be 1-D (n,) or 2-D (n, k)")
    if len(x) == 0:
        _shape_problem("x holds no samples")
    if len(x) != len(y):
        _shape_problem(f"x has {len(x)} samples but y has {len(y)}")
    if "x_test" not in arrays:
        return
    x_test, y_test = arrays["x_test"], arrays["y_test"]
    if x_test.shape[1:] != x.shape[1:] or x_test.ndim != x.ndim:
        _shape_problem(f"x_test has shape {x_test.shape}, unlike x's samples {x.shape[1:]}")
    if y_test.shape[1:] != y.shape[1:] or y_test.ndim != y.ndim:
        _shape_problem(f"y_test has shape {y_test.shape}, unlike y's labels {y.shape[1:]}")
    if len(x_test) != len(y_test):
        _shape_problem(f"x_test has {len(x_test)} samples but y_test has {len(y_test)}")


def _shape_problem(msg: str) -> NoReturn:
    raise UploadError("npz_shape", msg)


def _check_finite(name: str, array: np.ndarray) -> None:
    if array.dtype.kind != "f":
        return
    finite = np.isfinite(array)
    if not finite.all():
        first = int(np.argmin(finite.ravel()))  # the first False
        index = [int(i) for i in np.unravel_index(first, array.shape)]
        raise UploadError(
            "not_finite",
            f"{name}[{', '.join(map(str, index))}] is {array[tuple(index)]}: "
            "NaN, infinite, or too large for float32",
            array=name, index=index,
        )  # fmt: skip
