"""What every bare script shares: the epoch count and the JSON line it prints last, which the
harness reads. Only the standard library, so a bare script pays nothing for it."""

import json
import os
import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# Set only by the harness's --epochs-override, for smoke tests of the harness itself.
EPOCHS_VARIABLE = "BENCH_EPOCHS"


def epochs(notebook_epochs: int) -> int:
    return int(os.environ.get(EPOCHS_VARIABLE) or notebook_epochs)


class FitTimer:
    """Seconds spent inside each model's fit call, by model name."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, model: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[model] = time.perf_counter() - start


def emit(timer: FitTimer, histories: dict[str, Any], extra: dict[str, Any] | None = None) -> None:
    """Print the result line: fit seconds, per-model per-epoch history, peak RSS, and any
    `extra` figures of the script (the limit's compile_seconds)."""
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kibibytes on Linux
    line = {
        "fit_seconds": sum(timer.seconds.values()),
        "fit_seconds_by_model": timer.seconds,
        "histories": {
            model: {metric: [float(v) for v in values] for metric, values in history.items()}
            for model, history in histories.items()
        },
        "peak_rss_bytes": peak_kib * 1024,
    } | (extra or {})
    print(json.dumps(line), flush=True)
