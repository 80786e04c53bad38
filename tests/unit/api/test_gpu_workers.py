"""`fitq worker --gpus`: which GPUs it takes, the environment each GPU's worker starts with,
and the usage errors an operator sees. The processes themselves: tests/e2e/test_gpu_workers.py."""

import sys
from types import ModuleType

import pytest
from typer.testing import CliRunner

from api import gpu_workers
from api.cli import app


@pytest.mark.parametrize(
    ("text", "gpus"), [("0", [0]), ("0,1", [0, 1]), ("3, 1", [3, 1]), ("10,2", [10, 2])]
)
def test_gpu_lists(text: str, gpus: list[int]) -> None:
    assert gpu_workers.parse_gpus(text) == gpus


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is not a comma-separated list of GPU indices"),
        ("0,", "is not a comma-separated list of GPU indices"),
        ("-1", "is not a comma-separated list of GPU indices"),
        ("a,b", "is not a comma-separated list of GPU indices"),
        ("all", "is not a comma-separated list of GPU indices"),
        ("0,1,0", "GPU 0 is listed twice"),
    ],
)
def test_bad_gpu_lists_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        gpu_workers.parse_gpus(text)


@pytest.mark.parametrize(
    ("jobs", "fraction"), [(1, "0.9"), (2, "0.45"), (3, "0.3"), (4, "0.225"), (7, "0.128")]
)
def test_the_jobs_on_a_gpu_split_nine_tenths_of_it(jobs: int, fraction: str) -> None:
    assert gpu_workers.memory_fraction(jobs) == fraction
    assert float(fraction) * jobs <= 0.9


def test_each_worker_sees_its_gpu_alone_and_a_share_of_its_memory() -> None:
    env = gpu_workers.gpu_env({"PATH": "/bin", "CUDA_VISIBLE_DEVICES": "0,1,2,3"}, 2, jobs=2)
    assert env == {
        "PATH": "/bin",
        "CUDA_VISIBLE_DEVICES": "2",
        "CUDA_DEVICE_ORDER": "PCI_BUS_ID",
        "XLA_PYTHON_CLIENT_MEM_FRACTION": "0.45",
        "TF_FORCE_GPU_ALLOW_GROWTH": "true",
    }


@pytest.mark.parametrize("name", ["XLA_PYTHON_CLIENT_MEM_FRACTION", "XLA_CLIENT_MEM_FRACTION"])
def test_an_operators_own_memory_fraction_is_kept(name: str) -> None:
    # JAX refuses to start when both names are set: fitq adds neither beside the operator's.
    env = gpu_workers.gpu_env({name: "0.2", "TF_FORCE_GPU_ALLOW_GROWTH": "false"}, 0, jobs=4)
    assert env[name] == "0.2"
    assert [n for n in gpu_workers.FRACTION_VARIABLES if n in env] == [name]
    assert env["TF_FORCE_GPU_ALLOW_GROWTH"] == "false"


def test_the_installed_jax_reads_the_fraction_fitq_sets(monkeypatch: pytest.MonkeyPatch) -> None:
    """A JAX that no longer read the variable would preallocate its default share in every
    process, and the second job on a GPU would run out of memory: caught here, on a CPU."""
    xla_client = pytest.importorskip("jaxlib.xla_client")
    for name in gpu_workers.FRACTION_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    env = gpu_workers.gpu_env({}, 0, jobs=2)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert xla_client.generate_pjrt_gpu_plugin_options()["memory_fraction"] == 0.45


def test_the_supervisor_refuses_to_go_on_with_a_backend_imported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in gpu_workers.BACKEND_MODULES:
        monkeypatch.delitem(sys.modules, name, raising=False)
    gpu_workers.check_no_backend_imported()
    monkeypatch.setitem(sys.modules, "jax", ModuleType("jax"))
    with pytest.raises(RuntimeError, match="imported jax in the supervising process"):
        gpu_workers.check_no_backend_imported()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--gpus", "0,x"], "'0,x' is not a comma-separated list of GPU indices"),
        (["--gpus", "1,1"], "GPU 1 is listed twice"),
        (["--gpus", "0", "--validate"], "--validate does not go with --gpus"),
        (["--gpus", "0", "--concurrency", "2"], "--concurrency does not go with --gpus"),
    ],
)
def test_a_bad_gpus_option_is_a_usage_error(args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["worker", *args], env={"COLUMNS": "200"})
    assert result.exit_code == 2, result.output
    assert "Invalid value for '--gpus'" in result.output
    assert message in result.output
