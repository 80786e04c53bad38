"""fitq's per-epoch cost inside one process: the circles fit (Dense 500, 30 samples, one batch an
epoch, so epochs of a few milliseconds) bare, then with fitq's EpochWriter recording it into a
real database, in pairs, alternating which goes first, several times. Run:
python -m bench.overhead [--epochs N] [--repeats R] [--database-url URL] [--tiny]
[--switch-ms MS ...]; the backend is FITQ_KERAS_BACKEND's (default jax)."""

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from models.settings import get_settings
from worker import backend

backend.select(get_settings())  # before Keras is imported

import keras  # noqa: E402
from sklearn.datasets import make_circles  # noqa: E402

from bench.report import median_interval  # noqa: E402
from models import db  # noqa: E402
from models.tables import Experiment  # noqa: E402
from tests.helpers import migrate  # noqa: E402
from worker.training.callbacks import EpochWriter  # noqa: E402
from worker.training.checkpoint import Checkpointer, warm_up  # noqa: E402


def circles_model(units: int) -> keras.Model:
    model = keras.Sequential(
        [
            keras.Input((2,)),
            keras.layers.Dense(units, activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    return model


class Circles:
    """The data and one compiled model, fitted again and again, by both sides. Each fit goes on
    training it: the step is traced and compiled once, in the warm-up, so a fit's time is its
    epochs' and fitq's. A new model per fit added its compilation (0.3-0.5 s here, varying) to
    both sides: noise, and a larger denominator. tiny: Dense 16 and no validation, the
    shortest epochs Keras makes here (~1 ms on JAX)."""

    def __init__(self, tiny: bool) -> None:
        x, y = make_circles(n_samples=100, noise=0.1, random_state=1)
        self.x, self.y = x[:30], y[:30]
        self.validation = None if tiny else (x[30:], y[30:])
        self.model = circles_model(16 if tiny else 500)

    def fit(self, epochs: int, callbacks: list[keras.callbacks.Callback]) -> float:
        started = time.perf_counter()
        self.model.fit(
            self.x, self.y, validation_data=self.validation, epochs=epochs, verbose=0,
            callbacks=callbacks,
        )  # fmt: skip
        return time.perf_counter() - started


def recorded(circles: Circles, epochs: int, spent: list[float], beats: list[float]) -> float:
    settings = get_settings()
    with db.session_scope() as session:
        experiment = Experiment(spec={}, epochs_total=epochs, status="running")
        session.add(experiment)
        session.flush()
        experiment_id = experiment.id
    writer = EpochWriter(
        experiment_id,
        flush_seconds=settings.history_flush_seconds,
        check_seconds=settings.cancel_check_seconds,
        checkpointer=Checkpointer(experiment_id, settings.checkpoint_every_seconds),
    )
    seconds = circles.fit(epochs, [writer])
    spent.append(writer.spent_seconds)
    beats.append(writer.background_seconds)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--tiny", action="store_true", help="Dense 16, no validation: ~1 ms epochs")
    parser.add_argument(
        "--switch-ms", type=float, nargs="+", default=[1000 * sys.getswitchinterval()],
        help="GIL switch intervals to compare (ms), taken in turn each repeat",
    )  # fmt: skip
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="fitq-overhead-"))
    url = args.database_url or f"sqlite:///{folder / 'fitq.db'}"
    os.environ.update(FITQ_DATABASE_URL=url, FITQ_ARTIFACTS_DIR=str(folder / "artifacts"))
    get_settings.cache_clear()
    migrate(url)
    # Outside the measurement, as a warm worker process has done before its first job: the
    # fit's compilation, and Keras's saving code (worker.tasks warms it at process start).
    circles = Circles(args.tiny)
    circles.fit(20, [])
    warm_up()
    gc.freeze()  # as worker.tasks does after its warm-up
    runs = {ms: Runs() for ms in args.switch_ms}
    for repeat in range(args.repeats):
        for ms, run in runs.items():
            sys.setswitchinterval(ms / 1000)
            # Alternating which goes first, so that neither always follows the other.
            run.pair(circles, args.epochs, fitq_first=bool(repeat % 2))
    print(f"backend {keras.backend.backend()}, database {url.split(':')[0]}, {args.epochs} epochs")
    for ms, run in runs.items():
        print(f"GIL switch interval {ms:g} ms")
        run.report(args.epochs)


class Runs:
    """One setting's fits: bare and recorded, in pairs run back to back."""

    def __init__(self) -> None:
        self.bare: list[float] = []
        self.fitq: list[float] = []
        self.spent: list[float] = []
        self.beats: list[float] = []

    def pair(self, circles: Circles, epochs: int, fitq_first: bool) -> None:
        if fitq_first:
            self.fitq.append(recorded(circles, epochs, self.spent, self.beats))
        self.bare.append(circles.fit(epochs, []))
        if not fitq_first:
            self.fitq.append(recorded(circles, epochs, self.spent, self.beats))

    def report(self, epochs: int) -> None:
        b, f = statistics.median(self.bare), statistics.median(self.fitq)
        for name, runs, m in (("bare fit ", self.bare, b), ("with fitq", self.fitq, f)):
            print(f"  {name}  median {m:.3f} s  ({1000 * m / epochs:.3f} ms/epoch)  {_list(runs)}")
        print(f"  overhead   {100 * (f - b) / b:+.2f}% (difference of the medians)")
        # Each pair ran back to back: their difference leaves out the machine's drift.
        pairs = [100 * (x - y) / y for x, y in zip(self.fitq, self.bare, strict=True)]
        if len(pairs) >= 4:
            low, mid, high = statistics.quantiles(pairs, n=4)
            print(f"    paired   median {mid:+.2f}%, quartiles {low:+.2f}% to {high:+.2f}%")
        interval = median_interval(pairs)
        if interval is not None:
            low, high = interval
            print(f"    95% confidence interval of the paired median: {low:+.2f}% to {high:+.2f}%")
        share = statistics.median(s / t for s, t in zip(self.spent, self.fitq, strict=True))
        print(
            f"  fitq's own time (its hooks, its thread's CPU): median {100 * share:.2f}% of the fit"
        )
        beats = statistics.median(s / t for s, t in zip(self.beats, self.fitq, strict=True))
        print(f"    of which the Pulse thread's heartbeats and writes (CPU): {100 * beats:.2f}%")


def _list(values: list[float]) -> str:
    return "[" + ", ".join(f"{v:.3f}" for v in values) + "]"


if __name__ == "__main__":
    main()
