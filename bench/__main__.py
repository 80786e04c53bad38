"""`python -m bench`: fitq against bare Keras scripts, side by side (see BENCHMARKS.md);
`python -m bench report FILE`: the results file as a markdown table."""

import importlib.util
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from bench import render, results
from bench.runner import SIDES, Options, benchmark
from bench.stack import ROOT, stop_on_sigterm
from bench.workloads import DEFAULT_WORKLOADS, WORKLOADS

app = typer.Typer(help=__doc__, add_completion=False)
KNOWN_BACKENDS = ("tensorflow", "jax", "torch")


def installed_backends() -> list[str]:
    return [b for b in KNOWN_BACKENDS if importlib.util.find_spec(b) is not None]


def parse_list(value: str, allowed: list[str], option: str) -> list[str]:
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in allowed]
    if unknown or not names:
        raise typer.BadParameter(
            f"{', '.join(unknown) or 'nothing'} is not one of {', '.join(allowed)}",
            param_hint=option,
        )
    return list(dict.fromkeys(names))


def default_out() -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return ROOT / "var" / "bench" / f"training-{stamp}.jsonl"


@app.callback(invoke_without_command=True)
def main(
    ctx: typer.Context,
    workloads: Annotated[
        str, typer.Option(help="Comma-separated: " + ", ".join(WORKLOADS))
    ] = ",".join(DEFAULT_WORKLOADS),
    backends: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated Keras backends (default: those installed of "
            "tensorflow, jax, torch)"
        ),
    ] = None,
    repeats: Annotated[int, typer.Option(min=1, help="Runs of each side per workload")] = 3,
    sides: Annotated[
        str,
        typer.Option(
            help="Comma-separated: bare, fitq, limit (the circles model through fitq's "
            "compiled program alone, JAX only), fitq-fit (fitq on a worker with "
            "FITQ_TRAINER=fit, JAX only). Some sides alone add runs to a results file that "
            "has the others' (the TensorFlow IMDB notebook alone takes ~15 minutes)"
        ),
    ] = ",".join(SIDES),
    out: Annotated[
        Path | None,
        typer.Option(
            help="Results file (JSON lines, appended; default: var/bench/training-TIME.jsonl)"
        ),
    ] = None,
    epochs_override: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Smoke tests of the harness only: every fit runs N epochs, "
            "recorded in every line and reported as not a benchmark",
        ),
    ] = None,
    timeout_minutes: Annotated[float, typer.Option(min=1, help="Longest one run may take")] = 120,
    pg_admin_url: Annotated[
        str, typer.Option(envvar="FITQ_BENCH_PG_ADMIN_URL", help="Where to create the database")
    ] = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
    redis_url: Annotated[
        str, typer.Option(envvar="FITQ_BENCH_REDIS_URL", help="The broker")
    ] = "redis://127.0.0.1:6379/0",
) -> None:
    """Run each workload as a bare Keras script and through fitq, alternating, on each
    backend; append one JSON line per run to the results file and print the report."""
    if ctx.invoked_subcommand is not None:
        return
    installed = installed_backends()
    chosen = parse_list(backends, installed, "--backends") if backends else installed
    options = Options(
        workloads=parse_list(workloads, list(WORKLOADS), "--workloads"),
        backends=chosen, repeats=repeats, out=(out or default_out()).resolve(),
        sides=parse_list(sides, list(SIDES), "--sides"),
        epochs_override=epochs_override, timeout_seconds=timeout_minutes * 60,
        pg_admin_url=pg_admin_url, redis_url=redis_url,
    )  # fmt: skip
    stop_on_sigterm()
    benchmark(options)
    typer.echo(render.markdown(results.read(options.out)))


@app.command()
def report(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A results file")],
) -> None:
    """Print the results file's markdown table (for BENCHMARKS.md)."""
    typer.echo(render.markdown(results.read(file)), nl=False)


if __name__ == "__main__":
    app(prog_name="python -m bench")
