"""Live events through a real API process and worker: many watchers of one running job each
get every epoch once, in order, then the end; a watcher that reconnects with Last-Event-ID
misses nothing and gets nothing twice; the API does one read an interval for all of them."""

import threading
import time

import httpx

from client.watching import Event, parse_events
from tests.e2e.stack import Api
from tests.helpers import circles_spec, slow_circles_spec

WATCHERS = 20
EPOCHS = 300


def watch(
    api: Api, experiment_id: int, headers: dict[str, str], stop_after: int | None = None
) -> list[Event]:
    """(event, data, id) of each event until `end` (or after `stop_after` epochs)."""
    events: list[Event] = []
    url = f"{str(api.http.base_url).rstrip('/')}/experiments/{experiment_id}/events"
    sent = {**dict(api.http.headers), **headers}
    with httpx.stream("GET", url, headers=sent, timeout=120) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        for event in parse_events(response.iter_lines()):
            events.append(event)
            if event[0] == "end":
                return events
            epochs = sum(1 for e in events if e[0] == "epoch")
            if stop_after is not None and epochs >= stop_after:
                return events
    return events


def epochs_of(events: list[Event]) -> list[int]:
    numbers = [data["epoch"] for event, data, _ in events if event == "epoch"]
    ids = [int(event_id) for event, _, event_id in events if event == "epoch" and event_id]
    assert numbers == ids  # each epoch event's id is its epoch
    return numbers


def test_many_watchers_get_every_epoch_once_in_order(pg_stack: Api) -> None:
    experiment_id = pg_stack.submit(slow_circles_spec(EPOCHS))
    pg_stack.wait_epoch(experiment_id, 1, timeout=120)
    api_cpu_before, started = pg_stack_api_cpu(pg_stack), time.monotonic()
    results: dict[int, list] = {}

    def run(n: int) -> None:
        results[n] = watch(pg_stack, experiment_id, {})

    threads = [threading.Thread(target=run, args=(n,)) for n in range(WATCHERS)]
    for thread in threads:
        thread.start()
    # One more watcher drops after 20 epochs and reconnects as EventSource does.
    first = watch(pg_stack, experiment_id, {}, stop_after=20)
    last_seen = epochs_of(first)[-1]
    rest = watch(pg_stack, experiment_id, {"Last-Event-ID": str(last_seen)})
    for thread in threads:
        thread.join(timeout=180)
    wall = time.monotonic() - started
    for n in range(WATCHERS):
        events = results[n]
        assert events[-1][0] == "end" and events[-1][1]["status"] == "succeeded"
        assert epochs_of(events) == list(range(1, EPOCHS + 1)), n
        statuses = [data["status"] for event, data, _ in events if event == "status"]
        assert statuses[-1] == "succeeded"
    assert epochs_of(first) + epochs_of(rest) == list(range(1, EPOCHS + 1))
    # The rows are the history's rows.
    assert [e[1] for e in results[0] if e[0] == "epoch"] == pg_stack.history(experiment_id)
    api_cpu = pg_stack_api_cpu(pg_stack) - api_cpu_before
    # 21 streams for the fit's seconds: the API must not spin (one shared read an interval).
    assert api_cpu < 0.5 * wall, (api_cpu, wall)


def test_a_finished_experiment_streams_its_history_and_ends(pg_stack: Api) -> None:
    experiment_id = pg_stack.submit(slow_circles_spec(5))
    pg_stack.wait_status(experiment_id, {"succeeded"}, timeout=120)
    events = watch(pg_stack, experiment_id, {})
    assert epochs_of(events) == [1, 2, 3, 4, 5]
    assert [e[0] for e in events[-2:]] == ["status", "end"]
    after = watch(pg_stack, experiment_id, {"Last-Event-ID": "3"})
    assert epochs_of(after) == [4, 5]


def test_another_owner_s_stream_is_a_404(pg_stack: Api) -> None:
    response = pg_stack.http.get("/experiments/999999/events")
    assert response.status_code == 404


def pg_stack_api_cpu(api: Api) -> float:
    assert api.proc is not None
    return api.proc.cpu_seconds() or 0.0


def watch_study(
    api: Api, study_id: int, headers: dict[str, str], stop_after: int | None = None
) -> list[Event]:
    url = f"{str(api.http.base_url).rstrip('/')}/studies/{study_id}/events"
    events: list[Event] = []
    with httpx.stream("GET", url, headers={**dict(api.http.headers), **headers}, timeout=300) as r:
        assert r.status_code == 200, r.read()
        for event in parse_events(r.iter_lines()):
            events.append(event)
            if event[0] == "end":
                break
            if stop_after is not None and sum(e[0] == "epoch" for e in events) >= stop_after:
                break
    return events


def epochs_by_run(events: list[Event]) -> dict[int, list[int]]:
    runs: dict[int, list[int]] = {}
    for event, data, event_id in events:
        if event == "epoch":
            runs.setdefault(data["experiment_id"], []).append(data["epoch"])
            assert f"{data['experiment_id']}:{data['epoch']}" in event_id.split(",")
    return runs


def test_study_watchers_get_every_run_s_epochs_once_and_resume(pg_stack: Api) -> None:
    request = {
        "base": slow_circles_spec(60),
        "variants": [{"name": "wide"}, {"name": "narrow", "set": {"model.layers[0].units": 8}}],
        "repeats": 2,
    }
    created = pg_stack.http.post("/studies", json=request)
    assert created.status_code == 201, created.text
    study_id = created.json()["id"]
    summary = pg_stack.http.get(f"/studies/{study_id}").json()["summary"]
    runs = sorted(run["experiment_id"] for variant in summary for run in variant["per_run"])
    assert len(runs) == 4
    pg_stack.wait_epoch(min(runs), 1, timeout=120)
    results: dict[int, list[Event]] = {}

    def run(n: int) -> None:
        results[n] = watch_study(pg_stack, study_id, {})

    threads = [threading.Thread(target=run, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    first = watch_study(pg_stack, study_id, {}, stop_after=30)
    rest = watch_study(pg_stack, study_id, {"Last-Event-ID": first[-1][2]})
    for thread in threads:
        thread.join(timeout=300)
    expected = {run: list(range(1, 61)) for run in runs}
    for events in results.values():
        assert epochs_by_run(events) == expected
        end = events[-1]
        assert end[0] == "end" and end[1] == {"status": "succeeded", "runs": {"succeeded": 4}}
        last_status = {d["experiment_id"]: d["status"] for e, d, _ in events if e == "status"}
        assert last_status == dict.fromkeys(runs, "succeeded")
    resumed = epochs_by_run(first)
    for run_id, epochs in epochs_by_run(rest).items():
        resumed[run_id] = resumed.get(run_id, []) + epochs
    assert resumed == expected  # nothing missed, nothing twice across the reconnect
    rows = [d for e, d, _ in results[0] if e == "epoch" and d["experiment_id"] == runs[0]]
    assert [{k: v for k, v in r.items() if k != "experiment_id"} for r in rows] == (
        pg_stack.history(runs[0])
    )


def test_a_study_event_id_that_is_not_one_is_a_422(pg_stack: Api) -> None:
    created = pg_stack.http.post("/studies", json={"base": circles_spec(epochs=2), "repeats": 1})
    study_id = created.json()["id"]
    response = pg_stack.http.get(f"/studies/{study_id}/events", headers={"Last-Event-ID": "x"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["path"] == "header.Last-Event-ID"
