"""fitq's per-epoch cost inside one process: the circles fit (Dense 500, 30 samples, one batch an
epoch, so epochs of a few milliseconds) bare, then with fitq's EpochWriter recording it into a
real database, in pairs, alternating which goes first, several times. Run:
python -m bench.overhead [--epochs N] [--repeats R] [--database-url URL] [--tiny]
[--switch-ms MS ...]; the backend is FITQ_KERAS_BACKEND's (default jax).

It prints the fit times of both sides and their paired differences, whole and split into
the epochs and what is outside them (fitq's last write); fitq's own time (its
hooks, its thread's CPU); the database server's CPU during the fits; and fitq's cost to the
fit measured epoch by epoch (bench.interference), with the same measure on the bare fits as
its noise. On this machine the last resolves 2% in a few fits: whole fits of the same code
differ by more than that from one to the next, and take hundreds of pairs (--epochs 500
--repeats 400: a 95% interval about 2 points wide)."""

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from models.settings import get_settings
from worker import backend

backend.select(get_settings())  # before Keras is imported

import keras  # noqa: E402
from sklearn.datasets import make_circles  # noqa: E402

from bench.interference import shifted, window_cost  # noqa: E402
from bench.interleave import EveryOtherBlock, block_differences  # noqa: E402
from bench.probes import EpochClock, database_cpu, time_beats  # noqa: E402
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


@dataclass
class Fit:
    seconds: float
    ends: list[float]  # EpochClock's
    server_cpu: float  # the database server's CPU seconds during the fit
    hooks: float = 0.0  # fitq's hooks, in the fit's thread (wall)
    thread_cpu: float = 0.0  # fitq's Pulse thread (CPU)
    beats: list[tuple[float, float]] = field(default_factory=list)  # the Pulse's beats

    @property
    def span(self) -> float:
        """From the fit's start (on_train_begin) to its last epoch's end."""
        return self.ends[-1] - self.ends[0]

    @property
    def outside(self) -> float:
        return self.seconds - self.span


def bare(circles: Circles, epochs: int) -> Fit:
    clock = EpochClock()
    server = database_cpu()
    seconds = circles.fit(epochs, [clock])
    return Fit(seconds, clock.ends, database_cpu() - server)


def new_writer(epochs: int) -> EpochWriter:
    """A running experiment's writer, configured as the worker configures it."""
    settings = get_settings()
    with db.session_scope() as session:
        experiment = Experiment(spec={}, epochs_total=epochs, status="running")
        session.add(experiment)
        session.flush()
        experiment_id = experiment.id
    return EpochWriter(
        experiment_id,
        flush_seconds=settings.history_flush_seconds,
        check_seconds=settings.cancel_check_seconds,
        checkpointer=Checkpointer(experiment_id, settings.checkpoint_every_seconds),
    )


def recorded(circles: Circles, epochs: int) -> Fit:
    writer = new_writer(epochs)
    beats = time_beats(writer)
    clock = EpochClock()
    server = database_cpu()
    seconds = circles.fit(epochs, [clock, writer])
    server = database_cpu() - server
    hooks = writer.spent_seconds - writer.background_seconds
    return Fit(seconds, clock.ends, server, hooks, writer.background_seconds, beats)


def interleaved(circles: Circles, epochs: int, block: int) -> list[tuple[float, float]]:
    """One fit whose epoch hook runs in every other block of epochs (bench.interleave)."""
    writer = new_writer(epochs)
    beats = time_beats(writer)
    clock = EpochClock()
    circles.fit(epochs, [clock, EveryOtherBlock(writer, block)])
    return block_differences(clock.ends, beats, block)


def report_interleaved(pairs: list[tuple[float, float]], block: int) -> None:
    differences = [hooked for hooked, _ in pairs]
    plain = statistics.median(epoch for _, epoch in pairs)
    micros = 1e6 * statistics.median(differences)
    print(f"the epoch hook, in every other block of {block} epochs ({len(pairs)} block pairs):")
    shares = _spread([d / plain for d in differences])
    print(f"  {micros:+.2f} us an epoch; as a share of the epoch: {shares}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--tiny", action="store_true", help="Dense 16, no validation: ~1 ms epochs")
    parser.add_argument(
        "--interleave", type=int, default=0, metavar="BLOCK",
        help="also REPEATS fits with the epoch hook in every other block of BLOCK epochs",
    )  # fmt: skip
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
    blocks = [
        pair for _ in range(args.repeats if args.interleave else 0)
        for pair in interleaved(circles, args.epochs, args.interleave)
    ]  # fmt: skip
    print(f"backend {keras.backend.backend()}, database {url.split(':')[0]}, {args.epochs} epochs")
    for ms, run in runs.items():
        print(f"GIL switch interval {ms:g} ms")
        run.report(args.epochs)
    if blocks:
        report_interleaved(blocks, args.interleave)


class Runs:
    """One setting's fits: bare and recorded, in pairs run back to back."""

    def __init__(self) -> None:
        self.bare: list[Fit] = []
        self.fitq: list[Fit] = []

    def pair(self, circles: Circles, epochs: int, fitq_first: bool) -> None:
        if fitq_first:
            self.fitq.append(recorded(circles, epochs))
        self.bare.append(bare(circles, epochs))
        if not fitq_first:
            self.fitq.append(recorded(circles, epochs))

    def report(self, epochs: int) -> None:
        self._report_wall(epochs)
        own = [(f.hooks + f.thread_cpu) / f.seconds for f in self.fitq]
        print(f"  fitq's own time (its hooks, its thread's CPU): median {_pc(own)} of the fit")
        thread = [f.thread_cpu / f.seconds for f in self.fitq]
        print(f"    of which the Pulse thread's heartbeats and writes (CPU): {_pc(thread)}")
        server = [f.server_cpu / f.seconds for f in self.fitq]
        idle = [f.server_cpu / f.seconds for f in self.bare]
        print(f"  the database server's CPU during the fit: {_pc(server)} (bare: {_pc(idle)})")
        # The fit's time lost to fitq, each epoch against its neighbours' pace (see
        # bench.interference): the hooks, which the fit waits for, plus the epochs' extra
        # time while the Pulse thread beat.
        slowed = [window_cost(f.ends, f.beats) for f in self.fitq]
        cost = [(f.hooks + w) / f.seconds for f, w in zip(self.fitq, slowed, strict=True)]
        placebo = [
            window_cost(b.ends, shifted(f.beats, f.ends, b.ends)) / b.seconds
            for f, b in zip(self.fitq, self.bare, strict=True)
        ]
        print(f"  fitq's cost to the fit (hooks + epochs slowed by the beats): {_spread(cost)}")
        print(f"    the same beats laid on the bare fits (its noise): {_spread(placebo)}")
        hooks = [f.hooks / f.seconds for f in self.fitq]
        per_beat = statistics.median(
            1000 * w / len(f.beats) for f, w in zip(self.fitq, slowed, strict=True)
        )
        beats = statistics.median(len(f.beats) for f in self.fitq)
        print(f"    the hooks {_pc(hooks)}; {beats:g} beats a fit, each {per_beat:.2f} ms")

    def _report_wall(self, epochs: int) -> None:
        bare_seconds = [b.seconds for b in self.bare]
        fitq_seconds = [f.seconds for f in self.fitq]
        b, f = statistics.median(bare_seconds), statistics.median(fitq_seconds)
        for name, runs, m in (("bare fit ", bare_seconds, b), ("with fitq", fitq_seconds, f)):
            print(f"  {name}  median {m:.3f} s  ({1000 * m / epochs:.3f} ms/epoch)  {_list(runs)}")
        print(f"  overhead   {100 * (f - b) / b:+.2f}% (difference of the medians)")
        # Each pair ran back to back: their difference leaves out the machine's slower drift.
        pairs = [(x.seconds - y.seconds) / y.seconds for x, y in self._pairs()]
        print(f"    paired differences: {_spread(pairs)}")
        # The epochs, and what is outside them: Keras's set-up and the fit's end, where fitq
        # writes the epochs still pending (up to FITQ_HISTORY_FLUSH_SECONDS of them), a cost
        # once a fit, large in short ones.
        spans = [(x.span - y.span) / y.span for x, y in self._pairs()]
        print(f"    the epochs alone, paired: {_spread(spans)}")
        outside = statistics.mean(1000 * (x.outside - y.outside) for x, y in self._pairs())
        print(f"    outside the epochs (fitq's last write): {outside:+.2f} ms a fit, on average")

    def _pairs(self) -> list[tuple[Fit, Fit]]:
        return list(zip(self.fitq, self.bare, strict=True))


def _pc(shares: list[float]) -> str:
    return f"{100 * statistics.median(shares):.2f}%"


def _spread(shares: list[float]) -> str:
    """Median, quartiles and the 95% confidence interval of the median, in percent."""
    text = f"median {100 * statistics.median(shares):+.2f}%"
    if len(shares) >= 4:
        low, _, high = statistics.quantiles(shares, n=4)
        text += f", quartiles {100 * low:+.2f}% to {100 * high:+.2f}%"
    interval = median_interval(shares)
    if interval is not None:
        low, high = (100 * value for value in interval)
        text += f", 95% interval of the median {low:+.2f}% to {high:+.2f}%"
    return text


def _list(values: list[float]) -> str:
    return "[" + ", ".join(f"{v:.3f}" for v in values) + "]"


if __name__ == "__main__":
    main()
