"""Live events through a real API process and worker: many watchers of one running job each
get every epoch once, in order, then the end; a watcher that reconnects with Last-Event-ID
misses nothing and gets nothing twice; the API does one read an interval for all of them."""

import threading
import time

import httpx

from client.watching import Event, parse_events
from tests.e2e.stack import Api
from tests.helpers import slow_circles_spec

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
