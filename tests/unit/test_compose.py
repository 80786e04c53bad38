"""docker-compose.yml as compose itself reads it: `docker compose config` (or docker-compose's,
which checks the same compose specification; scripts/compose.sh installs it) accepts the CPU
and the GPU layouts, and the GPU worker asks Docker for exactly the GPUs its `--gpus` names."""

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from api.gpu_workers import parse_gpus
from tests.helpers import ROOT

COMPOSE_FILE = ROOT / "docker-compose.yml"


def compose_command() -> list[str]:
    """Docker's compose plugin, else docker-compose; with CI=true a missing one fails."""
    if shutil.which("docker"):
        plugin = subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=30)
        if plugin.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    message = "neither `docker compose` nor docker-compose is installed (scripts/compose.sh)"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message)
    pytest.skip(message)


def rendered(profile: str, tmp_path: Path) -> dict[str, Any]:
    # Its own project folder: a developer's .env beside the checkout's file must not count.
    env_file = tmp_path / "compose.env"
    env_file.write_text((ROOT / ".env.example").read_text())
    argv = [*compose_command(), "--project-directory", str(tmp_path), "-f", str(COMPOSE_FILE)]
    argv += ["--env-file", str(env_file), "--profile", profile, "config"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "FITQ_"))}
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return dict(yaml.safe_load(done.stdout))


def gpu_request(service: dict[str, Any]) -> tuple[list[str], list[int]]:
    """The GPUs a service reserves and those its `fitq worker --gpus` runs workers on."""
    (device,) = service["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia"
    assert device["capabilities"] == ["gpu"]
    command = service["command"]
    assert command[:2] == ["fitq", "worker"], command
    return list(device["device_ids"]), parse_gpus(command[command.index("--gpus") + 1])


def test_compose_accepts_the_gpu_worker_layout(tmp_path: Path) -> None:
    services = rendered("gpu", tmp_path)["services"]
    reserved, gpus = gpu_request(services["worker-gpu"])
    # Inside the container the reserved GPUs are numbered from 0.
    assert gpus == list(range(len(reserved)))
    assert services["worker-gpu"]["environment"]["FITQ_JOBS_PER_GPU"] == "1"
    assert "deploy" not in services["worker"]  # the CPU worker asks for no GPU


def test_compose_accepts_the_cpu_layout(tmp_path: Path) -> None:
    services = rendered("cpu", tmp_path)["services"]
    assert services["worker"].get("command") is None  # the image's `fitq worker`
    assert {"postgres", "redis", "api", "worker", "flower"} <= services.keys()


def test_a_cpu_host_starts_the_cpu_worker_and_a_gpu_host_the_gpu_worker() -> None:
    services = yaml.safe_load(COMPOSE_FILE.read_text())["services"]
    assert services["worker"]["profiles"] == ["cpu"]
    assert services["worker-gpu"]["profiles"] == ["gpu"]
    # Every other service runs whichever profile is chosen.
    assert all("profiles" not in s for n, s in services.items() if not n.startswith("worker"))
    assert "\nCOMPOSE_PROFILES=cpu\n" in (ROOT / ".env.example").read_text()
