"""Reading locust's `--csv` output and turning it into the table BENCHMARKS.md shows. Pure
Python on purpose: the unit tests run it without locust installed."""

import csv
from dataclasses import dataclass
from pathlib import Path

AGGREGATED = "Aggregated"


@dataclass(frozen=True)
class EndpointStats:
    """One row of locust's `<prefix>_stats.csv`: times in milliseconds, rate per second."""

    endpoint: str
    requests: int
    failures: int
    rate: float
    p50_ms: float | None
    p99_ms: float | None


def _time(cell: str) -> float | None:
    # Locust writes N/A for the percentiles of an endpoint that got no answer.
    return None if cell.strip() in ("", "N/A") else float(cell)


def read_stats(path: Path) -> list[EndpointStats]:
    """The rows of a locust stats CSV, the aggregated row last."""
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    missing = {"Type", "Name", "Request Count", "Failure Count", "Requests/s", "50%", "99%"}
    if rows:
        missing -= rows[0].keys()
    if not rows or missing:
        raise ValueError(f"{path} is not a locust stats CSV (missing {sorted(missing)})")
    return [
        EndpointStats(
            endpoint=f"{row['Type']} {row['Name']}".strip(),
            requests=int(row["Request Count"]),
            failures=int(row["Failure Count"]),
            rate=float(row["Requests/s"]),
            p50_ms=_time(row["50%"]),
            p99_ms=_time(row["99%"]),
        )
        for row in rows
    ]


def total_failures(stats: list[EndpointStats]) -> int:
    """Failures over all endpoints (the aggregated row is not counted twice)."""
    return sum(s.failures for s in stats if s.endpoint != AGGREGATED)


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:g} ms"


def markdown_table(stats: list[EndpointStats], offered: dict[str, float]) -> str:
    """The results as a markdown table; `offered` maps an endpoint to the rate asked of it."""
    lines = [
        "| endpoint | offered/s | requests | achieved/s | p50 | p99 | failures |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for s in stats:
        asked = offered.get(s.endpoint)
        if s.endpoint == AGGREGATED:
            asked = sum(offered.values())
        asked_text = "" if asked is None else f"{asked:g}"
        lines.append(
            f"| {s.endpoint} | {asked_text} | {s.requests} | {s.rate:.1f} | {_ms(s.p50_ms)} "
            f"| {_ms(s.p99_ms)} | {s.failures} |"
        )
    return "\n".join(lines)
