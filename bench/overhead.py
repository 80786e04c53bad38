"""fitq's per-epoch cost inside one process: the circles fit (Dense 500, 30 samples, one batch an
epoch, so epochs of a few milliseconds) bare, then with fitq's EpochWriter recording it into a
real database, alternating, several times. Run: python -m bench.overhead [--epochs N]
[--repeats R] [--database-url URL] [--tiny]; the backend is FITQ_KERAS_BACKEND's (default jax)."""

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from models.settings import get_settings
from worker import backend

backend.select(get_settings())  # before Keras is imported

import keras  # noqa: E402
from sklearn.datasets import make_circles  # noqa: E402

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


def fit_seconds(epochs: int, callbacks: list[keras.callbacks.Callback], tiny: bool) -> float:
    """tiny: Dense 16 and no validation, the shortest epochs Keras makes here (~0.9 ms on JAX)."""
    x, y = make_circles(n_samples=100, noise=0.1, random_state=1)
    model = circles_model(16 if tiny else 500)
    validation = None if tiny else (x[30:], y[30:])
    started = time.perf_counter()
    model.fit(
        x[:30], y[:30], validation_data=validation, epochs=epochs, verbose=0,
        callbacks=callbacks,
    )  # fmt: skip
    return time.perf_counter() - started


def recorded(epochs: int, spent: list[float], beats: list[float], tiny: bool) -> float:
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
    seconds = fit_seconds(epochs, [writer], tiny)
    spent.append(writer.spent_seconds)
    beats.append(writer.background_seconds)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--tiny", action="store_true", help="Dense 16, no validation: ~1 ms epochs")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="fitq-overhead-"))
    url = args.database_url or f"sqlite:///{folder / 'fitq.db'}"
    os.environ.update(FITQ_DATABASE_URL=url, FITQ_ARTIFACTS_DIR=str(folder / "artifacts"))
    get_settings.cache_clear()
    migrate(url)
    # Outside the measurement, as a warm worker process has done before its first job: the
    # fit's compilation, and Keras's saving code (worker.tasks warms it at process start).
    fit_seconds(20, [], args.tiny)
    warm_up()
    bare: list[float] = []
    fitq: list[float] = []
    spent: list[float] = []
    beats: list[float] = []
    for repeat in range(args.repeats):
        # Alternating which goes first, so that neither always follows the other.
        if repeat % 2:
            fitq.append(recorded(args.epochs, spent, beats, args.tiny))
            bare.append(fit_seconds(args.epochs, [], args.tiny))
        else:
            bare.append(fit_seconds(args.epochs, [], args.tiny))
            fitq.append(recorded(args.epochs, spent, beats, args.tiny))
    b, f = statistics.median(bare), statistics.median(fitq)
    print(f"backend {keras.backend.backend()}, database {url.split(':')[0]}, {args.epochs} epochs")
    for name, runs, m in (("bare fit ", bare, b), ("with fitq", fitq, f)):
        print(f"{name}  median {m:.3f} s  ({1000 * m / args.epochs:.3f} ms/epoch)  {_list(runs)}")
    print(f"overhead   {100 * (f - b) / b:+.2f}% (difference of the medians)")
    # Each repeat's pair ran back to back: their difference leaves out the machine's drift.
    pairs = [100 * (x - y) / y for x, y in zip(fitq, bare, strict=True)]
    if len(pairs) >= 4:
        low, mid, high = statistics.quantiles(pairs, n=4)
        print(f"  paired   median {mid:+.2f}%, quartiles {low:+.2f}% to {high:+.2f}%")
    share = statistics.median(s / t for s, t in zip(spent, fitq, strict=True))
    print(f"fitq's own time (its hooks, its thread's CPU): median {100 * share:.2f}% of the fit")
    beat_share = statistics.median(s / t for s, t in zip(beats, fitq, strict=True))
    print(f"  of which the Pulse thread's heartbeats and writes (CPU): {100 * beat_share:.2f}%")


def _list(values: list[float]) -> str:
    return "[" + ", ".join(f"{v:.3f}" for v in values) + "]"


if __name__ == "__main__":
    main()
