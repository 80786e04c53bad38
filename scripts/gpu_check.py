"""Check a GPU machine through the real Celery path: the API, `fitq worker --gpus`, the queue,
the worker's compiled trainer and its writes. It times the circles workload (the dropout
article's overfit MLP, bench.bare.circles) as one experiment, as a study of five repeats of
that one variant (which a worker may pack into one program), and as the bare Keras script on
the same GPU; first it runs each shape once unmeasured, so the worker has its programs.

    python scripts/gpu_check.py                   # its own stack on GPU 0, 4,000 epochs
    python scripts/gpu_check.py --gpus 0 --epochs 200 --repeats 5
    python scripts/gpu_check.py --url http://127.0.0.1:8000 --key KEY   # a running stack

Its own stack is fitq's embedded mode (SQLite and the filesystem broker in a temporary folder,
no servers to install) with `fitq worker --gpus`; FITQ_JOBS_PER_GPU and FITQ_KERAS_BACKEND
apply. It runs on a CPU too, and says which device it used (where there is no GPU, JAX ignores
CUDA_VISIBLE_DEVICES). The figures go to stderr, then one JSON line to stdout; the exit status
is 1 when a run did not succeed.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api.gpu_workers import gpu_env, parse_gpus
from bench.bare.report import EPOCHS_VARIABLE
from bench.fitq_client import POLL_SECONDS, TERMINAL, FitqClient, worker_figures
from bench.format import seconds_text
from bench.gpu_stack import ROOT, EmbeddedStack
from bench.results import last_json_line
from bench.workloads import WORKLOADS, Submission
from models.settings import get_settings

Alive = Callable[[], bool]  # whether the stack's processes still run
PROBE = """
import keras
backend = keras.backend.backend()
if backend == "jax":
    import jax
    print(", ".join(f"{d.platform}:{d.id} {d.device_kind}" for d in jax.local_devices()))
elif backend == "tensorflow":
    import tensorflow as tf
    print(", ".join(d.name for d in tf.config.list_logical_devices()))
else:
    import torch
    print(torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu")
"""


def options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gpus", default="0", help="the workers' GPUs (fitq worker --gpus)")
    parser.add_argument("--epochs", type=int, default=4000, help="epochs of each run")
    parser.add_argument("--repeats", type=int, default=5, help="repeats of the study")
    parser.add_argument("--url", help="a running fitq API instead of a stack of its own")
    parser.add_argument("--key", default=os.environ.get("FITQ_API_KEY"), help="its API key")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per submission")
    parser.add_argument("--logs", type=Path, help="keep the stack's logs in this folder")
    return parser.parse_args()


def child_env(gpu: int) -> dict[str, str]:
    """What a worker on `gpu` sees: its GPU alone, its memory share, fitq's backend."""
    jobs, backend = get_settings().jobs_per_gpu, get_settings().keras_backend
    env = gpu_env(os.environ, gpu, jobs) | {"KERAS_BACKEND": backend, "PYTHONUNBUFFERED": "1"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def device(gpu: int) -> str:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=child_env(gpu), capture_output=True, text=True,
        timeout=600, check=True,
    )  # fmt: skip
    return done.stdout.strip().splitlines()[-1]


def bare(gpu: int, epochs: int, timeout: float) -> dict[str, Any]:
    """The bare Keras script in a fresh process on the same GPU: wall time from spawn to
    exit (imports included) and its fit's own seconds."""
    env = child_env(gpu) | {EPOCHS_VARIABLE: str(epochs)}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, *WORKLOADS["circles"].bare_argv()], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"the bare script failed:\n{done.stderr[-3000:]}")
    return {"wall_seconds": wall, "fit_seconds": last_json_line(done.stdout)["fit_seconds"]}


def submissions(epochs: int, repeats: int, seed: int) -> tuple[Submission, Submission]:
    """The circles workload alone, and as a study of `repeats` repeats of it."""
    spec = WORKLOADS["circles"].submission(epochs).body | {"name": "gpu check"}
    one = Submission("/experiments", spec | {"fit": spec["fit"] | {"seed": seed}})
    base = spec | {"fit": spec["fit"] | {"seed": seed + 1}}
    return one, Submission("/studies", {"name": "gpu check", "base": base, "repeats": repeats})


def measure(
    client: FitqClient, submission: Submission, timeout: float, alive: Alive
) -> tuple[float, list[dict[str, Any]]]:
    """POST, then poll until every experiment it made finished: the wall time a user sees,
    and each experiment (GET /experiments/{id}) as it ended."""
    started = time.perf_counter()
    response = client.http.post(submission.route, json=submission.body)
    if response.status_code != 201:
        raise RuntimeError(f"POST {submission.route}: {response.status_code} {response.text}")
    created = response.json()
    ids = [int(created["id"])] if submission.route == "/experiments" else [
        int(run["experiment_id"]) for variant in created["summary"] for run in variant["per_run"]
    ]  # fmt: skip
    finished: list[dict[str, Any]] = []
    while len(finished) < len(ids):
        if time.perf_counter() - started > timeout or not alive():
            raise RuntimeError(f"experiments {ids[len(finished) :]} did not finish")
        experiment = client.experiment(ids[len(finished)])
        if experiment["status"] in TERMINAL:
            finished.append(experiment)
        else:
            time.sleep(POLL_SECONDS)
    wall = time.perf_counter() - started
    failed = {e["id"]: e["status"] for e in finished if e["status"] != "succeeded"}
    if failed:
        raise RuntimeError(f"POST {submission.route}: not every run succeeded: {failed}")
    return wall, finished


def check(client: FitqClient, args: argparse.Namespace, alive: Alive) -> dict[str, Any]:
    gpu = parse_gpus(args.gpus)[0]
    line: dict[str, Any] = {"device": device(gpu), "gpus": args.gpus, "epochs": args.epochs}
    line |= {"backend": get_settings().keras_backend, "jobs_per_gpu": get_settings().jobs_per_gpu}
    say(f"device: {line['device']} ({line['backend']}); warming the worker up")
    for warm_up in submissions(args.epochs, args.repeats, seed=1000):
        wall, _ = measure(client, warm_up, args.timeout, alive)
        say(f"  first POST {warm_up.route}, compiling: {seconds_text(wall)}")
    one_run, study = submissions(args.epochs, args.repeats, seed=0)
    one_seconds, one = measure(client, one_run, args.timeout, alive)
    repeats_seconds, repeats = measure(client, study, args.timeout, alive)
    alone = bare(gpu, args.epochs, args.timeout)
    line |= {
        "one_run_seconds": one_seconds,
        "repeats": len(repeats),
        "repeats_seconds": repeats_seconds,
        "repeats_over_one": repeats_seconds / one_seconds,
        "bare_seconds": alone["wall_seconds"],
        "bare_fit_seconds": alone["fit_seconds"],
        "fitq_over_bare": one_seconds / alone["wall_seconds"],
        "one_run": worker_figures(one),
        "repeats_run": worker_figures(repeats),
    }
    return line


def report(line: dict[str, Any]) -> None:
    epochs, repeats = line["epochs"], line["repeats"]
    say(f"one run of {epochs} epochs: {seconds_text(line['one_run_seconds'])} (POST to done)")
    say(
        f"{repeats} repeats as a study: {seconds_text(line['repeats_seconds'])}, "
        f"{line['repeats_over_one']:.2f}x one run; programs {line['repeats_run']['programs']}"
    )
    say(
        f"bare Keras script: {seconds_text(line['bare_seconds'])} (its fit "
        f"{seconds_text(line['bare_fit_seconds'])}); fitq's one run is "
        f"{line['fitq_over_bare']:.2f}x the bare script's"
    )


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def main() -> int:
    args = options()
    parse_gpus(args.gpus)  # a bad list fails here, before anything starts
    try:
        if args.url:
            client = FitqClient(args.url)
            if args.key:
                client.http.headers["Authorization"] = f"Bearer {args.key}"
            line = check(client, args, lambda: True)
        else:
            with EmbeddedStack(args.gpus, args.logs) as (base_url, alive):
                line = check(FitqClient(base_url), args, alive)
    except (RuntimeError, TimeoutError) as failed:
        say(f"gpu check failed: {failed}")
        return 1
    report(line)
    print(json.dumps(line), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
