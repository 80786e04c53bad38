"""The word-index tests again with KERAS_BACKEND=jax, in a pytest process of its own: there
WordDense's matmul is the numba op behind jax.pure_callback (the suite's own process runs
Keras's default backend, where it is keras.ops)."""

import os
import re
import subprocess
import sys

from tests.helpers import ROOT

MODULE = "tests/unit/worker/training/test_word_input.py"


def test_the_word_index_path_passes_on_jax() -> None:
    env = os.environ | {"KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "2"}
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", MODULE]
    done = subprocess.run(
        argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    summary = done.stdout.strip().splitlines()[-1]
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    # Every test of the module ran and passed: none is skipped on JAX.
    assert re.fullmatch(r"\d+ passed in [\d.]+s", summary), summary
