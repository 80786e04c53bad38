"""The client commands of `fitq`, added to the server's command (api/cli.py)."""

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from client.http import REFUSED, Api, fail
from client.watching import watch_experiment, watch_study

URL = typer.Option(envvar="FITQ_URL", help="The fitq API", show_default=True)
KEY = typer.Option(envvar="FITQ_API_KEY", help="An API key (fitq create-key); none: auth off")
Url = Annotated[str, URL]
Key = Annotated[str | None, KEY]
Id = Annotated[int, typer.Argument(help="The experiment's id", min=1)]
Watch = Annotated[
    bool, typer.Option("--watch", help="Follow it until it ends; exit 0 if it succeeded")
]
DEFAULT_URL = "http://127.0.0.1:8000"
console = Console(stderr=True)
out = Console()


def _spec(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise fail(f"{path}: {exc}", REFUSED) from None


def submit(
    spec: Annotated[Path, typer.Argument(help="An experiment spec, JSON")],
    watch: Watch = False,
    url: Url = DEFAULT_URL,
    key: Key = None,
) -> None:
    """Submit an experiment; print its id."""
    api = Api(url, key)
    experiment = api.json("POST", "/experiments", json=_spec(spec))
    out.print(experiment["id"])
    if watch:
        raise typer.Exit(watch_experiment(api, experiment["id"], console))


def watch(experiment_id: Id, url: Url = DEFAULT_URL, key: Key = None) -> None:
    """Follow an experiment: epoch k of N, loss, val_loss, time left; then the diagnosis.
    Exit 0 only when it succeeded."""
    raise typer.Exit(watch_experiment(Api(url, key), experiment_id, console))


def ls(
    status: Annotated[str | None, typer.Option(help="queued, running, succeeded, ...")] = None,
    tag: Annotated[list[str] | None, typer.Option(help="Each tag given")] = None,
    name: Annotated[str | None, typer.Option(help="Name contains (any case)")] = None,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 50,
    url: Url = DEFAULT_URL,
    key: Key = None,
) -> None:
    """List experiments, newest first."""
    params: dict[str, Any] = {"limit": limit, "status": status, "tag": tag or [], "name": name}
    page = Api(url, key).json(
        "GET", "/experiments", params={k: v for k, v in params.items() if v not in (None, [])}
    )
    table = Table("id", "name", "status", "epoch", "loss", "val_loss")
    for item in page["items"]:
        metrics = item.get("latest_metrics") or {}
        table.add_row(
            str(item["id"]), item.get("name") or "", item["status"],
            f"{item['current_epoch']}/{item['epochs_total']}",
            _number(metrics.get("loss")), _number(metrics.get("val_loss")),
        )  # fmt: skip
    out.print(table)
    out.print(f"{len(page['items'])} of {page['total']}")


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def show(experiment_id: Id, url: Url = DEFAULT_URL, key: Key = None) -> None:
    """An experiment as GET /experiments/{id} gives it (JSON)."""
    typer.echo(json.dumps(Api(url, key).json("GET", f"/experiments/{experiment_id}"), indent=2))


def history(
    experiment_id: Id,
    csv: Annotated[bool, typer.Option("--csv", help="CSV instead of JSON")] = False,
    url: Url = DEFAULT_URL,
    key: Key = None,
) -> None:
    """The per-epoch metrics, as JSON rows or CSV."""
    api = Api(url, key)
    if csv:
        typer.echo(api.call("GET", f"/experiments/{experiment_id}/history.csv").text, nl=False)
    else:
        typer.echo(json.dumps(api.json("GET", f"/experiments/{experiment_id}/history")))


def plot(
    experiment_id: Id,
    output: Annotated[Path, typer.Option("-o", "--output", help="The PNG file to write")],
    metric: Annotated[str, typer.Option(help="loss, accuracy, ...")] = "loss",
    url: Url = DEFAULT_URL,
    key: Key = None,
) -> None:
    """The learning curves (training solid, validation dashed) as a PNG file."""
    response = Api(url, key).call(
        "GET", f"/experiments/{experiment_id}/plot.png", params={"metric": metric}
    )
    output.write_bytes(response.content)
    console.print(f"wrote {output}")


def cancel(experiment_id: Id, url: Url = DEFAULT_URL, key: Key = None) -> None:
    """Cancel a queued or running experiment."""
    experiment = Api(url, key).json("POST", f"/experiments/{experiment_id}/cancel")
    out.print(f"experiment {experiment_id}: {experiment['status']}")


def study(
    spec: Annotated[Path, typer.Argument(help="A study request, JSON")],
    watch: Watch = False,
    url: Url = DEFAULT_URL,
    key: Key = None,
) -> None:
    """Submit a study (base, variants, grid, repeats); print its id."""
    api = Api(url, key)
    created = api.json("POST", "/studies", json=_spec(spec))
    out.print(created["id"])
    if watch:
        raise typer.Exit(watch_study(api, created["id"], console))


def recipe(
    name: Annotated[str, typer.Argument(help="regularization, dropout_grid, ... (GET /recipes)")],
    dataset: Annotated[str, typer.Option(help='The dataset, JSON: {"name": "circles"}')],
    epochs: Annotated[int | None, typer.Option(min=1)] = None,
    watch: Watch = False,
    url: Url = DEFAULT_URL,
    key: Key = None,
) -> None:
    """Run a ready-made study on a dataset; print the study's id."""
    try:
        body: dict[str, Any] = {"dataset": json.loads(dataset)}
    except json.JSONDecodeError as exc:
        raise fail(f"--dataset: {exc}", REFUSED) from None
    if epochs is not None:
        body["epochs"] = epochs
    api = Api(url, key)
    created = api.json("POST", f"/recipes/{name}", json=body)
    out.print(created["id"])
    if watch:
        raise typer.Exit(watch_study(api, created["id"], console))


def register(app: typer.Typer) -> None:
    for command in (submit, watch, ls, show, history, plot, cancel, study, recipe):
        app.command(rich_help_panel="Client (FITQ_URL, FITQ_API_KEY)")(command)
