"""`fitq worker --gpus 0,1,...`: a training worker process per GPU, each pinned to its GPU by
CUDA_VISIBLE_DEVICES in its environment, so the backend it imports later sees that GPU alone,
with the memory settings that let FITQ_JOBS_PER_GPU jobs share it (docs/operations.md, "GPU
workers"). This process only starts and supervises them: a backend imported here would take a
CUDA context, and memory, on every GPU of the machine."""

import math
import os
import re
import socket
import sys
from collections.abc import Callable, Mapping

from api.supervisor import Child, console, supervise

BACKEND_MODULES = ("jax", "jaxlib", "tensorflow", "torch")
# JAX preallocates a fixed share of the GPU in each process (each pool process is one): the
# jobs on a GPU split this much of its memory, and the rest stays for what lives outside
# JAX's pool (each process's CUDA context, cuBLAS and cuDNN workspaces).
GPU_MEMORY_SHARE = 0.9
# JAX's fraction under its old and new names: it refuses to start when both are set, so an
# operator's own value, under either name, is kept as it is.
FRACTION_VARIABLES = ("XLA_PYTHON_CLIENT_MEM_FRACTION", "XLA_CLIENT_MEM_FRACTION")
GPU_LIST = re.compile(r"[0-9]+(,[0-9]+)*")

ArgvFor = Callable[[int, str], list[str]]  # (jobs at once, Celery node name) -> argv


def parse_gpus(text: str) -> list[int]:
    """`0` or `0,1,3`: GPU indices as nvidia-smi numbers them; ValueError says what is wrong."""
    cleaned = text.replace(" ", "")
    if not GPU_LIST.fullmatch(cleaned):
        raise ValueError(f"{text!r} is not a comma-separated list of GPU indices, e.g. 0,1")
    gpus = [int(part) for part in cleaned.split(",")]
    repeated = sorted({gpu for gpu in gpus if gpus.count(gpu) > 1})
    if repeated:
        raise ValueError(f"GPU {repeated[0]} is listed twice: one worker per GPU")
    return gpus


def memory_fraction(jobs: int) -> str:
    """Each job's share of its GPU, rounded down so the shares never add up past the whole."""
    return str(math.floor(GPU_MEMORY_SHARE * 1000 / jobs) / 1000)


def gpu_env(base: Mapping[str, str], gpu: int, jobs: int) -> dict[str, str]:
    """The environment of the worker on `gpu`: set before the backend is imported, which
    reads it once."""
    env = dict(base)
    env["CUDA_VISIBLE_DEVICES"] = str(gpu)
    # CUDA numbers GPUs fastest first unless told; nvidia-smi, and so the operator, by bus.
    env.setdefault("CUDA_DEVICE_ORDER", "PCI_BUS_ID")
    if not any(name in env for name in FRACTION_VARIABLES):
        env["XLA_PYTHON_CLIENT_MEM_FRACTION"] = memory_fraction(jobs)
    # TensorFlow would map nearly all of the GPU in each process; a JAX worker loads it too
    # (Keras's saving code uses it where it is installed), so it is set for every backend.
    env.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
    return env


def node_name(gpu: int) -> str:
    """The Celery node name, also recorded on each job the worker claims."""
    return f"train-gpu{gpu}@%h"


def check_no_backend_imported() -> None:
    loaded = sorted(name for name in BACKEND_MODULES if name in sys.modules)
    if loaded:
        raise RuntimeError(
            f"fitq worker --gpus imported {', '.join(loaded)} in the supervising process; "
            "only its per-GPU children may"
        )


def serve(gpus: list[int], jobs: int, argv_for: ArgvFor) -> None:
    """Start a worker per GPU and supervise them until Ctrl-C or SIGTERM."""
    plans = [(gpu, node_name(gpu), gpu_env(os.environ, gpu, jobs)) for gpu in gpus]
    # Last moment to refuse: past it the children run, each with its backend to import.
    check_no_backend_imported()
    children = []
    for gpu, node, env in plans:
        children.append(Child(f"the GPU {gpu} worker", argv_for(jobs, node), env))
        console.print(_describe(gpu, node, jobs, env), soft_wrap=True)
    supervise(children, "stopping the GPU workers (a running job goes back to queued)")


def _describe(gpu: int, node: str, jobs: int, env: Mapping[str, str]) -> str:
    shown = ("CUDA_VISIBLE_DEVICES", *FRACTION_VARIABLES, "TF_FORCE_GPU_ALLOW_GROWTH")
    variables = " ".join(f"{name}={env[name]}" for name in shown if name in env)
    at_once = "1 job" if jobs == 1 else f"{jobs} jobs"
    host = node.replace("%h", socket.gethostname())
    return f"GPU {gpu}: worker {host}, {at_once} at a time; {variables}"
