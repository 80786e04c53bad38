"""Tell CSV from NPZ by the file's first bytes (the name only breaks a tie), then parse."""

from typing import IO

from api.datasets.parsing.common import HeaderChoice, ParsedDataset, UploadError
from api.datasets.parsing.csv_format import parse_csv
from api.datasets.parsing.npz_format import parse_npz
from models.settings import Settings

_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")


def parse_upload(
    stream: IO[bytes], filename: str, label: str | None, header: HeaderChoice, settings: Settings
) -> ParsedDataset:
    head = stream.read(8)
    stream.seek(0)
    if not head:
        raise UploadError("empty_file", "the file is empty")
    if head.startswith(_ZIP_MAGIC):
        if label is not None and label.strip():
            raise UploadError(
                "label_not_for_npz", "label applies to CSV files; an NPZ's labels are its y",
                field="label",
            )  # fmt: skip
        return parse_npz(
            stream, settings.max_upload_bytes, settings.max_dataset_rows, settings.max_features
        )
    if head.startswith(b"\x93NUMPY"):
        raise UploadError(
            "npy_not_npz", "a single .npy array; save x and y together with numpy.savez"
        )
    if head.startswith(b"\x1f\x8b"):
        raise UploadError("compressed", "a gzip file; upload the CSV uncompressed, or an NPZ")
    if filename.lower().endswith(".npz"):
        raise UploadError("npz_invalid", "the file is named .npz but is not a zip archive")
    return parse_csv(stream, label, header, settings.max_dataset_rows, settings.max_features)
