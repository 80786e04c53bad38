"""The `meta` line of a run: machine, date, versions and options, as BENCHMARKS.md reports."""

import importlib.metadata
import os
import platform
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = (
    "keras", "tensorflow", "tensorflow-cpu", "jax", "jaxlib", "torch", "numpy", "scikit-learn",
    "celery", "fastapi", "sqlalchemy",
)  # fmt: skip
# The harness sets these for the stack it starts; other FITQ_* variables pass through to it.
HARNESS_SETS = {
    "FITQ_MODE", "FITQ_DATABASE_URL", "FITQ_BROKER_URL", "FITQ_TRAINING_QUEUE",
    "FITQ_VALIDATE_QUEUE", "FITQ_DATA_DIR", "FITQ_KERAS_DATASETS_DIR", "FITQ_DATASET_DOWNLOADS",
    "FITQ_AUTH", "FITQ_KERAS_BACKEND",
}  # fmt: skip


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    found["fitq"] = _git_revision()
    return found


def _git_revision() -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=30
        ).stdout.strip()

    revision = git("rev-parse", "--short", "HEAD") or "unknown"
    return revision + ("-dirty" if git("status", "--porcelain", "--untracked-files=no") else "")


def machine() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "cpu": _proc_field("/proc/cpuinfo", "model name") or platform.processor(),
        "cpus": os.cpu_count(),
        "memory_bytes": _memory_bytes(),
        "gpus": _gpus(),
    }


def _proc_field(path: str, name: str) -> str | None:
    try:
        for line in Path(path).read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == name:
                return value.strip()
    except OSError:
        return None
    return None


def _memory_bytes() -> int | None:
    total = _proc_field("/proc/meminfo", "MemTotal")  # "23456 kB"
    return int(total.split()[0]) * 1024 if total else None


def _gpus() -> list[str]:
    if shutil.which("nvidia-smi") is None:
        return []
    listed = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30)
    return [line for line in listed.stdout.splitlines() if line.strip()]


def fitq_default_backend() -> str:
    """The Keras backend a fitq worker uses when none is set: FITQ_KERAS_BACKEND's default
    where this checkout has that setting, else Keras's own default."""
    from models.settings import Settings  # fitq's settings, without Keras

    field = Settings.model_fields.get("keras_backend")
    default = field.default if field is not None else None
    return default if isinstance(default, str) and default else "tensorflow"


def meta_line(run_id: str, options: dict[str, Any], postgres: str) -> dict[str, Any]:
    passed = {
        k: v for k, v in os.environ.items() if k.startswith("FITQ_") and k not in HARNESS_SETS
    }
    return {
        "type": "meta",
        "run_id": run_id,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "versions": versions() | {"postgresql": postgres},
        "options": options,
        "fitq_default_backend": fitq_default_backend(),
        "fitq_environment": passed,
    }
