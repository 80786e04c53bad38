"""Following a run: an experiment's event stream as a progress bar, a study's runs by
polling; both end with how it ended."""

import json
import time
from collections.abc import Iterable, Iterator
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from client.http import RUN_DID_NOT_SUCCEED, Api

STUDY_POLL_SECONDS = 1.0
FINAL = {"succeeded", "failed", "cancelled", "partially_failed"}


Event = tuple[str, Any, str]  # (event, data decoded from JSON, id or "")


def parse_events(lines: Iterable[str]) -> Iterator[Event]:
    """The events of a text/event-stream, one per blank-line-ended block with data (the
    keep-alive comments have none)."""
    event, data, event_id = "message", "", ""
    for line in lines:
        if line.startswith("event: "):
            event = line.removeprefix("event: ")
        elif line.startswith("data: "):
            data = line.removeprefix("data: ")
        elif line.startswith("id: "):
            event_id = line.removeprefix("id: ")
        elif line == "" and data:
            yield event, json.loads(data), event_id
            event, data, event_id = "message", "", ""


def events(api: Api, experiment_id: int, after_epoch: int) -> Iterator[Event]:
    """(event, data, id) of GET /experiments/{id}/events, reconnecting with Last-Event-ID if
    the connection drops before the end."""
    last = str(after_epoch)
    while True:
        with api.stream(f"/experiments/{experiment_id}/events", {"Last-Event-ID": last}) as s:
            for event, data, event_id in parse_events(s.iter_lines()):
                if event_id:
                    last = event_id
                yield event, data, event_id
                if event == "end":
                    return


def watch_experiment(api: Api, experiment_id: int, console: Console) -> int:
    """A progress bar over the epochs (loss, val_loss, time left), then the status and the
    diagnosis' verdict; the exit code: 0 when it succeeded."""
    columns = (
        TextColumn("[bold]experiment {task.fields[id]}[/]"),
        BarColumn(),
        TextColumn("epoch {task.completed:.0f} of {task.fields[of]}"),
        TextColumn("{task.fields[losses]}"),
        TimeRemainingColumn(),
    )
    final: dict[str, Any] = api.json("GET", f"/experiments/{experiment_id}")  # or a 404, now
    total = final["epochs_total"]
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("fit", total=total, id=experiment_id, losses="", of=total)
        for event, data, _ in events(api, experiment_id, 0):
            if event in ("status", "end"):
                total = data["epochs_total"]
                progress.update(task, total=total, of=total, completed=data["current_epoch"])
                final = data
            elif event == "epoch":
                progress.update(task, completed=data["epoch"], losses=_losses(data))
    status = final.get("status", "unknown")
    error = f": {final['error']}" if final.get("error") else ""
    console.print(f"experiment {experiment_id} {status}{error}")
    if status != "deleted":
        diagnosis = api.json("GET", f"/experiments/{experiment_id}/diagnosis")
        console.print(f"diagnosis: {diagnosis['verdict']}: {diagnosis['summary']}")
    return 0 if status == "succeeded" else RUN_DID_NOT_SUCCEED


def _losses(row: dict[str, Any]) -> str:
    names = ("loss", "val_loss")
    return ", ".join(f"{n} {row[n]:.4f}" for n in names if row.get(n) is not None)


def watch_study(api: Api, study_id: int, console: Console) -> int:
    """Runs finished of all, until the study has finished; 0 when every run succeeded."""
    with Progress(
        TextColumn(f"[bold]study {study_id}[/]"), BarColumn(),
        TextColumn("{task.completed:.0f} of {task.fields[of]} runs finished"),
        console=console,
    ) as progress:  # fmt: skip
        task = progress.add_task("runs", total=None, of="?")
        while True:
            study = api.json("GET", f"/studies/{study_id}")
            counts = study["counts"]
            done = sum(counts.get(status, 0) for status in ("succeeded", "failed", "cancelled"))
            total = study["experiments"]
            progress.update(task, total=total, of=total, completed=done)
            if study["status"] in FINAL:
                break
            time.sleep(STUDY_POLL_SECONDS)
    console.print(f"study {study_id} {study['status']}")
    for variant in study["summary"]:
        diagnosis = variant.get("diagnosis") or {}
        verdict = diagnosis.get("verdict", "no diagnosis")
        console.print(
            f"  {variant['variant']}: {variant['succeeded']} of {variant['runs']} "
            f"succeeded; {verdict}"
        )
    return 0 if study["status"] == "succeeded" else RUN_DID_NOT_SUCCEED
