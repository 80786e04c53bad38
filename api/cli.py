"""The `fitq` command: migrate, serve the API, run a worker, or run both for local use.
Importing this module never imports Keras; the worker runs as its own process."""

import logging
import os
import sys
from pathlib import Path
from typing import Annotated, Literal, NoReturn

import typer
from alembic import command
from alembic.config import Config
from rich.console import Console

from api import gpu_workers
from api.core import keys
from api.supervisor import Child, say, supervise
from client import commands
from models import logs
from models.db import session_scope
from models.settings import get_settings

app = typer.Typer(help="fitq: a training service for studying over- and underfitting.")
commands.register(app)  # submit, watch, ls, show, history, plot, cancel, study, recipe
console = Console(stderr=True)
log = logging.getLogger("fitq")
ROOT = Path(__file__).resolve().parents[1]


@app.command()
def migrate() -> None:
    """Upgrade the database to the newest schema (alembic upgrade head)."""
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    config = Config(str(_alembic_ini()))
    if settings.log_format == "json":
        # alembic.ini's text handlers would replace the JSON one (migrations/env.py).
        config.attributes["configure_logger"] = False
        logs.configure("json", settings.log_level)
    command.upgrade(config, "head")
    say(f"database at head: [bold]{_redact(settings.database_url)}[/]")


def _alembic_ini() -> Path:
    """The checkout's alembic.ini; an installed (non-editable) copy finds it in the cwd."""
    for folder in (ROOT, Path.cwd()):
        if (folder / "alembic.ini").exists():
            return folder / "alembic.ini"
    raise typer.BadParameter("alembic.ini not found: run from the fitq checkout")


def worker_argv(
    concurrency: int | None = None,
    validate: bool = False,
    quiet: bool = False,
    node: str = "train@%h",
) -> list[str]:
    """`quiet`: without Celery's start-up banner (`fitq run` prints its own lines); `node`: a
    training worker's Celery node name."""
    settings = get_settings()
    argv = [sys.executable, "-m", "celery", "-A", "worker.celery_app"]
    # Celery prints its banner, it does not log it: JSON logs leave it out.
    quiet = quiet or settings.log_format == "json"
    argv += ["--quiet", "worker"] if quiet else ["worker"]
    argv += ["--loglevel", settings.log_level]
    if validate:
        # Dry runs are short model builds: threads answer several at once in one process.
        argv += ["-Q", settings.validate_queue, "--pool", "threads"]
        argv += ["--concurrency", str(concurrency or 2), "--hostname", "validate@%h"]
    else:
        argv += ["-Q", settings.training_queue, "--hostname", node]
        argv += ["--concurrency", str(concurrency or settings.worker_concurrency)]
    if settings.uses_filesystem_broker:
        # The filesystem transport has no fan-out exchange for these worker-to-worker chats.
        argv += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    return argv


@app.command()
def worker(
    concurrency: Annotated[int | None, typer.Option(min=1)] = None,
    validate: Annotated[
        bool, typer.Option("--validate", help="Serve dry runs instead of training jobs")
    ] = False,
    gpus: Annotated[
        str | None,
        typer.Option(
            metavar="0,1,...",
            help="A training worker per GPU, each pinned to its GPU, running "
            "FITQ_JOBS_PER_GPU jobs at once",
        ),
    ] = None,
) -> None:
    """Run a Celery worker for training jobs, or with --validate for dry runs (replaces this
    process); with --gpus, a training worker per GPU, supervised by this process."""
    if gpus is not None:
        _gpu_workers(gpus, concurrency, validate)
    argv = worker_argv(concurrency, validate)
    os.execv(argv[0], argv)


def _gpu_workers(gpus: str, concurrency: int | None, validate: bool) -> NoReturn:
    try:
        indices = gpu_workers.parse_gpus(gpus)
    except ValueError as wrong:
        raise typer.BadParameter(str(wrong), param_hint="'--gpus'") from None
    if validate or concurrency is not None:
        # Dry runs need no GPU; jobs per GPU come from FITQ_JOBS_PER_GPU, which the memory
        # shares follow, so a second knob could only contradict it.
        option = "--validate" if validate else "--concurrency"
        raise typer.BadParameter(f"{option} does not go with --gpus", param_hint="'--gpus'")
    jobs = get_settings().jobs_per_gpu
    gpu_workers.serve(indices, jobs, lambda n, node: worker_argv(n, node=node))
    raise typer.Exit(0)


@app.command("create-key")
def create_key(owner: Annotated[str, typer.Argument(help="Who the key acts as")]) -> None:
    """Make an API key for OWNER and print it once: only its SHA-256 is stored."""
    try:
        with session_scope() as session:
            token = keys.create_key(session, owner)
    except keys.KeyRefusedError as refused:
        raise typer.BadParameter(str(refused)) from None
    console.print(f"API key for [bold]{owner.strip()}[/] (shown once; send as Bearer):")
    print(token)  # alone on stdout, so `TOKEN=$(fitq create-key alice)` works


@app.command("list-keys")
def list_keys() -> None:
    """List API keys: prefix, owner, created, revoked. Tokens themselves are never stored."""
    with session_scope() as session:
        for key in keys.list_keys(session):
            revoked = key.revoked_at.isoformat() if key.revoked_at else "active"
            print(f"{key.prefix}\t{key.owner}\t{key.created_at.isoformat()}\t{revoked}")


@app.command("revoke-key")
def revoke_key(
    prefix: Annotated[str, typer.Argument(help="The key's prefix from list-keys")],
) -> None:
    """Revoke the active key with this prefix: its requests get 401 from now on."""
    try:
        with session_scope() as session:
            key = keys.revoke_key(session, prefix)
            owner = key.owner
    except keys.KeyRefusedError as refused:
        raise typer.BadParameter(str(refused)) from None
    console.print(f"revoked key {prefix} of [bold]{owner}[/]")


@app.command()
def run(
    host: Annotated[str, typer.Option(envvar="HOST")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="PORT")] = 8000,
    auth: Annotated[
        Literal["required", "disabled"],
        typer.Option(envvar="FITQ_AUTH", help="disabled: one local user, no API keys"),
    ] = "disabled",
) -> None:
    """Migrate, then run the API, a training worker and a dry-run worker until Ctrl-C, which
    stops them all cleanly; one that dies is started again. One-command local use, so API keys
    are off unless asked for."""
    migrate()
    quiet = get_settings().log_level.upper() != "DEBUG"
    # The training worker's metrics listen where the API does, unless set otherwise.
    workers = {"FITQ_WORKER_METRICS_HOST": host} | worker_env(quiet)
    api = [sys.executable, "-m", "uvicorn", "api.main:app", "--host", host, "--port", str(port)]
    # The setting's default is "required"; this local command turns it off explicitly, and
    # only for its own API child.
    children = [
        Child("the API", api, {**os.environ, "FITQ_AUTH": auth}),
        Child("the training worker", worker_argv(quiet=quiet), workers),
        Child("the dry-run worker", worker_argv(validate=True, quiet=quiet), workers),
    ]
    say(f"fitq API on http://{host}:{port} (docs at /docs); workers started")
    if auth == "disabled":
        say(
            "auth disabled (FITQ_AUTH=disabled): no API keys, every request acts as owner "
            "'local'; FITQ_AUTH=required fitq run to require keys"
        )
    supervise(children, "stopping the API and the workers (a running job goes back to queued)")
    raise typer.Exit(0)


def worker_env(quiet: bool) -> dict[str, str]:
    """`fitq run` is one user's local service: Celery's warning about running as root (as in
    a container) is not news to them; at FITQ_LOG_LEVEL=DEBUG it shows."""
    if not quiet:
        return dict(os.environ)
    ignore = "ignore:You're running the worker with superuser privileges"  # message's start
    warnings = ",".join(w for w in (os.environ.get("PYTHONWARNINGS"), ignore) if w)
    return {**os.environ, "PYTHONWARNINGS": warnings}


def _redact(url: str) -> str:
    head, sep, tail = url.rpartition("@")
    return f"{head.split('//')[0]}//***@{tail}" if sep else url
