"""History and plot timings through HTTP against the real API (uvicorn) on PostgreSQL.

    python -m bench.api_bench [--repeats 50] [--app-dir /work/main]

Seeds a throw-away database fitq_bench_<random> with an experiment of 100,000 epochs and one
of 1,000 (bulk COPY), starts uvicorn, and times each case over many requests with one
kept-alive httpx connection: median and 95th percentile of the wall time per request, as the
client sees it. A second server with both caches off (FITQ_SERIES_CACHE_BYTES=0,
FITQ_PLOT_CACHE_BYTES=0) gives the cold figures. `--app-dir` serves another checkout (say
main at the commit this branch started from, to compare: it must have the same schema, and
--cases names what it supports)."""

import datetime
import os
import platform
import statistics
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import fastapi
import httpx
import matplotlib
import numpy as np
import psycopg
import sqlalchemy
import typer
import uvicorn
from sqlalchemy import create_engine, text

from bench.api_stack import ROOT, Served, api_server, bench_database, seed_experiment

app = typer.Typer(add_completion=False)
CASES = ["downsampled", "page", "full", "plot_cold", "plot_cold_long", "plot_warm", "plot_304"]


@dataclass(frozen=True)
class Timing:
    case: str
    server: str
    ms: list[float]  # wall time of each request, as the client saw it
    cpu_ms: float  # the API process's CPU per request (mean; /proc counts 10 ms ticks)
    body_bytes: int

    def row(self) -> str:
        median, p95 = statistics.median(self.ms), float(np.percentile(self.ms, 95))
        cells = [self.case, self.server, str(len(self.ms)), f"{median:.1f}", f"{p95:.1f}"]
        return "| " + " | ".join([*cells, f"{self.cpu_ms:.1f}", f"{self.body_bytes:,}"]) + " |"


Request = tuple[str, dict[str, str]]  # url, headers


@dataclass(frozen=True)
class Case:
    name: str
    requests: list[Request]
    expect: int = 200
    # Sent first and not timed: what fills a cache the case means to measure warm.
    warm_up: list[Request] = field(default_factory=list)


def timed(served: Served, server: str, case: Case) -> Timing:
    """Wall milliseconds of each request, in order; each must answer `case.expect`."""
    client = served.client
    for url, headers in case.warm_up:
        client.get(url, headers=headers).raise_for_status()
    times, size = [], 0
    cpu_before = served.cpu_seconds()
    for url, headers in case.requests:
        start = time.perf_counter()
        response = client.get(url, headers=headers)
        times.append((time.perf_counter() - start) * 1000)
        if response.status_code != case.expect:
            raise RuntimeError(f"GET {url}: {response.status_code} {response.text[:300]}")
        size = len(response.content)
    cpu_ms = (served.cpu_seconds() - cpu_before) * 1000 / len(times)
    return Timing(case.name, server, times, cpu_ms, size)


def warm_cases(long_id: int, short_id: int, n: int, client: httpx.Client) -> dict[str, Case]:
    """Against a server with its caches on, by the name --cases knows them by."""
    history, plot = f"/experiments/{long_id}/history", f"/experiments/{short_id}/plot.png"
    long_plot = f"/experiments/{long_id}/plot.png"
    downsampled: Request = (f"{history}?max_points=1000", {})
    tag = client.get(plot).headers.get("etag", "")
    return {
        "downsampled": Case(
            "history, max_points=1000 (100,000 epochs)", [downsampled] * n, warm_up=[downsampled]
        ),
        "page": Case("history page, limit=1000 (100,000 epochs)", _pages(history, n)),
        "full": Case("full history (100,000 rows)", [(history, {})] * max(3, n // 10)),
        # A width per request: each is a picture the plot cache has not seen.
        "plot_cold": Case(
            "plot, cold (1,000 epochs)", _widths(plot, 1000, n), warm_up=[(plot, {})]
        ),
        "plot_cold_long": Case(
            "plot, cold (100,000 epochs)",
            _widths(long_plot, 2000, max(3, n // 5)),
            warm_up=[(f"{long_plot}?width=1999", {})],
        ),
        "plot_warm": Case("plot, warm: cached (1,000 epochs)", [(plot, {})] * n),
        "plot_304": Case(
            "plot, 304 revalidation (1,000 epochs)", [(plot, {"If-None-Match": tag})] * n, 304
        ),
    }


def cold_cases(long_id: int, short_id: int, n: int) -> dict[str, Case]:
    """Against a server with both caches off: every request reads the database."""
    history, plot = f"/experiments/{long_id}/history", f"/experiments/{short_id}/plot.png"
    long_plot = f"/experiments/{long_id}/plot.png"
    return {
        "downsampled": Case(
            "history, max_points=1000 (100,000 epochs)", [(f"{history}?max_points=1000", {})] * n
        ),
        "plot_cold": Case("plot, cold (1,000 epochs)", _widths(plot, 1000, n)),
        "plot_cold_long": Case("plot, cold (100,000 epochs)", _widths(long_plot, 2000, n)),
    }


def _pages(history: str, n: int) -> list[Request]:
    return [(f"{history}?limit=1000&after_epoch={1000 * (i % 100)}", {}) for i in range(n)]


def _widths(plot: str, first: int, n: int) -> list[Request]:
    return [(f"{plot}?width={first + i}", {}) for i in range(n)]


def run_cases(
    served: Served, server: str, cases: dict[str, Case], chosen: list[str]
) -> list[Timing]:
    timings = []
    for name in (name for name in cases if name in chosen):
        timings.append(timed(served, server, cases[name]))
        typer.echo(timings[-1].row(), err=True)
    return timings


def versions() -> str:
    parts = [
        f"Python {platform.python_version()}",
        f"FastAPI {fastapi.__version__}",
        f"uvicorn {uvicorn.__version__}",
        f"SQLAlchemy {sqlalchemy.__version__}",
        f"psycopg {psycopg.__version__}",
        f"numpy {np.__version__}",
        f"matplotlib {matplotlib.__version__}",
    ]
    return ", ".join(parts)


def postgres_version(database_url: str) -> str:
    engine = create_engine(database_url)
    with engine.connect() as conn:
        version = str(conn.execute(text("SHOW server_version")).scalar_one())
    engine.dispose()
    return f"PostgreSQL {version.split()[0]}"


@app.command()
def main(
    repeats: Annotated[int, typer.Option(min=5, help="Requests per warm case")] = 50,
    app_dir: Annotated[
        Path, typer.Option(help="The checkout whose API is served (default: this one)")
    ] = ROOT,
    cases: Annotated[str, typer.Option(help="Comma-separated case names")] = ",".join(CASES),
    caches_off: Annotated[
        bool, typer.Option(help="Also time a second server with both caches off")
    ] = True,
) -> None:
    """Seed, serve, time, print a markdown table; the database is dropped at the end."""
    started = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    load_before = os.getloadavg()
    with bench_database() as url:
        typer.echo(f"seeding {url.rsplit('/', 1)[1]} (dropped at the end)", err=True)
        long_id, short_id = seed_experiment(url, 100_000), seed_experiment(url, 1_000, seed=1)
        chosen = cases.split(",")
        with api_server(url, app_dir) as served:
            warm = warm_cases(long_id, short_id, repeats, served.client)
            timings = run_cases(served, "caches on", warm, chosen)
        if caches_off:
            off = {"series_cache_bytes": "0", "plot_cache_bytes": "0"}
            with api_server(url, app_dir, **off) as served:
                cold = cold_cases(long_id, short_id, max(5, repeats // 5))
                timings += run_cases(served, "caches off", cold, chosen)
        pg = postgres_version(url)
    cores = os.cpu_count()
    typer.echo(f"\n{started}; {cores} cores, {platform.machine()}, no GPU; {versions()}, {pg}")
    typer.echo(f"load average before {load_before[0]:.2f}, after {os.getloadavg()[0]:.2f}")
    typer.echo(f"served from {app_dir} ({_git_head(app_dir)})\n")
    typer.echo("| case | server | requests | median ms | p95 ms | API CPU ms | body bytes |")
    typer.echo("|---|---|---|---|---|---|---|")
    for timing in timings:
        typer.echo(timing.row())


def _git_head(path: Path) -> str:
    result = subprocess.run(
        ["git", "-C", str(path), "log", "-1", "--format=%h %s"], capture_output=True, text=True
    )
    return result.stdout.strip()[:80] or "not a git checkout"


if __name__ == "__main__":
    app()
