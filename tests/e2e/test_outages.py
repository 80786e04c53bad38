"""A server down under the real API (uvicorn) and a real Celery worker (item 3 of issue 16):
while PostgreSQL is down every route that needs it answers a JSON 503 with Retry-After, never
a 500 or a hang; while Redis is down a submit answers at once, and its job runs once Redis is
back, long before FITQ_QUEUED_TIMEOUT_SECONDS. The servers are the test's own
(tests/private_servers.py), stopped and started here; the machine's shared ones are untouched."""

import os
import re
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from api.core.keys import create_key
from tests.e2e.stack import BIN, Api, Proc, free_port, stack_env
from tests.helpers import circles_spec, diabetes_csv, migrate, poll
from tests.private_servers import PrivatePostgres, PrivateRedis, require_programs

# Longer than any bounded wait in the API (a 3 s database connect, a 1 s broker send): a
# request still unanswered by then is hanging.
HANG = 8.0
RUNS = 6  # a study's runs while Redis is down
FINAL = {"succeeded", "failed", "cancelled", "partially_failed"}


@dataclass
class Outages:
    postgres: PrivatePostgres
    redis: PrivateRedis
    env: dict[str, str]
    token: str
    logs: Path
    api: Api | None = None  # the module's API, made by start_api

    def start_api(self, name: str) -> tuple[Proc, Api]:
        port = free_port()
        argv = [str(BIN / "python"), "-m", "uvicorn", "api.main:app", "--port", str(port)]
        proc = Proc(argv, self.env, self.logs / f"{name}.log")
        api = Api(f"http://127.0.0.1:{port}", self.token)
        try:
            poll(lambda: _serving(api), bool, timeout=60)
        except BaseException:
            proc.stop()
            raise
        return proc, api


def _serving(api: Api) -> bool:
    try:  # a page that needs neither server
        return api.http.get("/openapi.json", timeout=HANG).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture(scope="module")
def outages(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outages]:
    require_programs()
    logs = tmp_path_factory.mktemp("outages")
    with PrivatePostgres() as postgres, PrivateRedis() as redis_server:
        url = postgres.create_database("fitq")
        migrate(url)
        engine = create_engine(url)
        with Session(engine) as session, session.begin():
            token = create_key(session, "outages")
        engine.dispose()
        env = stack_env(
            FITQ_MODE="production",
            FITQ_DATABASE_URL=url,
            FITQ_BROKER_URL=redis_server.url,
            FITQ_RESULT_BACKEND=redis_server.url,
            FITQ_TRAINING_QUEUE="training",
            FITQ_VALIDATE_QUEUE="validate",
            FITQ_DATA_DIR=str(logs / "data"),
            FITQ_RECONCILE_INTERVAL_SECONDS="1",
        )
        env.pop("FITQ_QUEUED_TIMEOUT_SECONDS", None)  # the default, 600 s, is what to beat
        outages = Outages(postgres, redis_server, env, token, logs)
        proc, outages.api = outages.start_api("api")
        try:
            yield outages
        finally:
            proc.stop()
            print("API log tail:\n" + proc.tail())


def module_api(outages: Outages) -> Api:
    assert outages.api is not None
    return outages.api


def request(api: Api, method: str, path: str, **kwargs: Any) -> httpx.Response:
    return api.http.request(method, path, timeout=HANG, **kwargs)


def unavailable_problem(response: httpx.Response, server: str) -> str | None:
    """What is wrong with the answer, for a 503 about `server`; None when nothing is."""
    where = f"{response.request.method} {response.request.url.path}"
    if response.status_code != 503:
        return f"{where}: {response.status_code} {response.text[:200]}"
    detail = response.json()["detail"]
    if [(e["path"], e["type"]) for e in detail] != [(server, "service_unavailable")]:
        return f"{where}: {detail}"
    if not response.headers.get("Retry-After", "").isdigit():
        return f"{where}: Retry-After {response.headers.get('Retry-After')!r}"
    return None


def database_down_problem(api: Api, method: str, path: str, kwargs: dict[str, Any]) -> str | None:
    try:
        response = request(api, method, path, **kwargs)
    except httpx.TransportError as exc:  # a hang, or a connection dropped without an answer
        return f"{method} {path}: {type(exc).__name__}: {exc}"
    return unavailable_problem(response, "(database)")


def assert_unavailable(response: httpx.Response, server: str) -> None:
    problem = unavailable_problem(response, server)
    assert problem is None, problem


def test_with_postgres_stopped_every_route_is_a_503(outages: Outages) -> None:
    api = module_api(outages)
    experiment_id = api.submit(circles_spec(epochs=3))
    study = request(api, "POST", "/studies", json={"base": circles_spec(epochs=3), "repeats": 2})
    assert study.status_code == 201, study.text
    study_id = study.json()["id"]
    csv = {"file": ("diabetes.csv", diabetes_csv(50), "text/csv")}
    dataset = request(api, "POST", "/datasets", files=csv)
    assert dataset.status_code == 201, dataset.text
    dataset_id = dataset.json()["id"]
    routes: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", "/experiments", {}),
        ("GET", f"/experiments/{experiment_id}", {}),
        ("GET", f"/experiments/{experiment_id}/history", {}),
        ("GET", f"/experiments/{experiment_id}/plot.png", {}),
        ("GET", f"/experiments/{experiment_id}/diagnosis", {}),
        ("GET", f"/experiments/{experiment_id}/model", {}),
        ("POST", f"/experiments/{experiment_id}/cancel", {}),
        ("POST", "/experiments", {"json": circles_spec(epochs=3)}),
        ("POST", "/experiments/validate", {"json": circles_spec(epochs=3)}),
        ("GET", f"/plots/compare.png?ids={experiment_id}", {}),
        ("GET", "/studies", {}),
        ("GET", f"/studies/{study_id}", {}),
        ("GET", f"/studies/{study_id}/plot.png", {}),
        ("POST", "/studies", {"json": {"base": circles_spec(epochs=3)}}),
        ("GET", "/datasets", {}),
        ("GET", f"/datasets/{dataset_id}", {}),
        ("POST", "/datasets", {"files": csv}),
    ]

    outages.postgres.stop()
    try:
        problems = [database_down_problem(api, method, path, kw) for method, path, kw in routes]
        assert [p for p in problems if p] == []
        health = request(api, "GET", "/healthz")
        assert health.status_code == 503
        assert (health.json()["database"]["ok"], health.json()["broker"]["ok"]) == (False, True)
    finally:
        outages.postgres.start()
    back = poll(lambda: request(api, "GET", "/experiments"), lambda r: r.status_code == 200, 30)
    assert back.json()["total"] == 3  # the submit and the study's two runs; nothing lost


def test_with_redis_stopped_submits_answer_at_once_and_run_once_it_is_back(
    outages: Outages,
) -> None:
    api = module_api(outages)
    outages.redis.stop()
    try:
        # Each is answered within HANG: without bounded sends one took 19 s, a study 19 s a run.
        submitted = request(api, "POST", "/experiments", json=circles_spec(epochs=3))
        assert submitted.status_code == 201, submitted.text
        body = {"base": circles_spec(epochs=3), "repeats": RUNS}
        study = request(api, "POST", "/studies", json=body)
        assert study.status_code == 201, study.text
        dry_run = request(api, "POST", "/experiments/validate", json=circles_spec(epochs=3))
        assert_unavailable(dry_run, "(broker)")
        health = request(api, "GET", "/healthz")
        assert health.status_code == 503
        assert (health.json()["database"]["ok"], health.json()["broker"]["ok"]) == (True, False)
    finally:
        outages.redis.start()  # empty: the jobs' messages were never sent

    argv = [str(BIN / "fitq"), "worker", "--concurrency", "1"]
    worker = Proc(argv, outages.env, outages.logs / "worker.log")
    try:
        # Well before FITQ_QUEUED_TIMEOUT_SECONDS (600 s): the reconciler found them missing.
        done = api.wait_status(submitted.json()["id"], FINAL, timeout=240)
        assert done["status"] == "succeeded", done
        read = lambda: request(api, "GET", f"/studies/{study.json()['id']}").json()  # noqa: E731
        runs = poll(read, lambda s: s["status"] in FINAL, timeout=240)
        assert (runs["status"], runs["counts"]["succeeded"]) == ("succeeded", RUNS), runs
        # Each sent once, though most then waited many reconcile passes behind the busy worker.
        # Every job of the module is here: stopping Redis also lost the earlier test's messages.
        everyone = request(api, "GET", "/experiments?limit=200").json()["items"]
        resent = re.findall(r"resent \[([\d, ]*)\]", worker.tail(200_000))
        ids = [int(i) for line in resent for i in line.split(",") if i.strip()]
        assert sorted(ids) == sorted(e["id"] for e in everyone)
    finally:
        worker.stop()
        print("worker log tail:\n" + worker.tail())


def test_a_postgres_that_never_answers_is_a_503_not_a_hang(outages: Outages) -> None:
    """A frozen server (or a host that drops packets) accepts no connection and refuses none:
    without a connect timeout a request waits for it forever."""
    postmaster = int((outages.postgres.data / "postmaster.pid").read_text().split()[0])
    os.kill(postmaster, signal.SIGSTOP)
    try:
        proc, fresh = outages.start_api("api-frozen-db")  # no pooled connection to reuse
        try:
            assert_unavailable(request(fresh, "GET", "/experiments"), "(database)")
        finally:
            proc.stop()
    finally:
        os.kill(postmaster, signal.SIGCONT)
