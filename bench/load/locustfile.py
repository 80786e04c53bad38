"""Locust users for `python -m bench.load`: one user class per endpoint, each with a fixed
number of users at a constant throughput, so the offered rate is known. The runner passes
the rates and seeded ids as options and the API key as LOCUST_FITQ_TOKEN."""

import itertools
import json
from typing import Any

from locust import FastHttpUser, constant_throughput, events, task
from locust.argument_parser import LocustArgumentParser
from locust.env import Environment

from bench.load.plan import DEFAULT_RATES, HISTORY, STATUS, SUBMIT, SUBMIT_SPEC, plan_rate

_BODY = json.dumps(SUBMIT_SPEC)


@events.init_command_line_parser.add_listener
def _options(parser: LocustArgumentParser) -> None:
    for option, endpoint in (("--status-rate", STATUS), ("--history-rate", HISTORY),
                             ("--submit-rate", SUBMIT)):  # fmt: skip
        parser.add_argument(
            option, type=float, default=DEFAULT_RATES[endpoint], include_in_web_ui=False
        )
    parser.add_argument("--status-ids", default="1", include_in_web_ui=False)
    parser.add_argument("--history-id", type=int, default=1, include_in_web_ui=False)
    parser.add_argument("--fitq-token", env_var="LOCUST_FITQ_TOKEN", default="", is_secret=True)


class _FitqUser(FastHttpUser):
    abstract = True
    token = ""

    def call(self, method: str, path: str, name: str, expected: int, **kw: Any) -> None:
        headers = {"Authorization": f"Bearer {self.token}", "content-type": "application/json"}
        # catch_response: only the exact success code passes, not any 2xx or 3xx.
        with self.client.request(
            method, path, name=name, headers=headers, catch_response=True, **kw
        ) as response:
            if response.status_code != expected:
                response.failure(f"{response.status_code} {(response.text or '')[:200]}")


class StatusUser(_FitqUser):
    """Polls the status of the seeded experiments, in turn."""

    ids: "itertools.cycle[int]" = itertools.cycle([1])

    @task
    def status(self) -> None:
        self.call("GET", f"/experiments/{next(self.ids)}", STATUS.split(" ")[1], 200)


class HistoryUser(_FitqUser):
    """Reads the whole history of the seeded finished experiment, as a plotting client does."""

    history_id = 1

    @task
    def history(self) -> None:
        path = f"/experiments/{self.history_id}/history"
        self.call("GET", path, HISTORY.split(" ")[1], 200)


class SubmitUser(_FitqUser):
    """Submits the tiny spec; the queue it lands in has no worker."""

    @task
    def submit(self) -> None:
        self.call("POST", "/experiments", SUBMIT.split(" ")[1], 201, data=_BODY)


@events.init.add_listener
def _configure(environment: Environment, **_: Any) -> None:
    options = environment.parsed_options
    if options is None:
        return
    _FitqUser.token = options.fitq_token
    StatusUser.ids = itertools.cycle(int(i) for i in options.status_ids.split(","))
    HistoryUser.history_id = options.history_id
    rates = {StatusUser: options.status_rate, HistoryUser: options.history_rate}
    rates[SubmitUser] = options.submit_rate
    for user_class, rate in rates.items():
        plan = plan_rate(rate)
        # Fixed counts, not weights: the runner starts exactly the sum of them.
        user_class.fixed_count = plan.users
        user_class.wait_time = constant_throughput(plan.per_user)
