"""The results file as a markdown table: per workload and backend the medians of each side,
their ratio, the worker's own figures, whether the curves agree, and beside them fitq on
`fit` (kind "fitq-fit") and the limit (kind "limit": the model through fitq's compiled
program alone). Pure: lines in, text out."""

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field

from scipy.stats import binom, mannwhitneyu

from bench.format import bytes_text, ratio_text, seconds_text, speedup_text
from bench.results import Line
from bench.workloads import WORKLOADS

BACKENDS = ("tensorflow", "jax", "torch")
SPEED_TARGET = 1.0  # fitq end to end / bare script, same backend
IMDB_TARGET = 3.0  # notebook as written / fitq, end to end
NOTEBOOK_BACKEND = "tensorflow"  # Keras's default, which the notebook runs on
CIRCLES_SPEEDUP_TARGET = 10.0  # circles: bare script / fitq, end to end, same backend
CIRCLES_LIMIT_TARGET = 1.5  # circles: fitq end to end / the limit's fit (build, compile, run)


@dataclass
class Cell:
    """One workload on one backend: its successful runs of each kind."""

    workload: str
    backend: str
    bare: list[Line] = field(default_factory=list)
    fitq: list[Line] = field(default_factory=list)
    limit: list[Line] = field(default_factory=list)  # fitq's compiled program alone
    fitq_fit: list[Line] = field(default_factory=list)  # fitq with FITQ_TRAINER=fit
    failed: int = 0
    overrides: set[int] = field(default_factory=set)


@dataclass(frozen=True)
class Agreement:
    """The model whose final val_loss differs most between fitq and the bare script."""

    model: str
    delta: float  # |median fitq - median bare|
    spread: float | None  # max - min over the bare repeats (None with fewer than two)
    # Two-sided Mann-Whitney U test of the two sides' final val_loss (None with fewer than two
    # runs a side). The spread test grows stricter the fewer the bare runs and the tighter
    # they happen to fall; this one asks whether the draws could come from one distribution.
    p_value: float | None = None

    @property
    def within_noise(self) -> bool | None:
        return None if self.spread is None else self.delta <= self.spread


def median(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def cells(lines: list[Line]) -> list[Cell]:
    found: dict[tuple[str, str], Cell] = {}
    for line in lines:
        if line.get("type") != "run":
            continue
        key = (line["workload"], line["backend"])
        cell = found.setdefault(key, Cell(*key))
        if line.get("epochs_override") is not None:
            cell.overrides.add(int(line["epochs_override"]))
        if line.get("error"):
            cell.failed += 1
        else:
            kinds = {
                "bare": cell.bare, "fitq": cell.fitq, "limit": cell.limit,
                "fitq-fit": cell.fitq_fit,
            }  # fmt: skip
            kinds.get(line["kind"], cell.fitq).append(line)
    return sorted(found.values(), key=_order)


def _order(cell: Cell) -> tuple[int, int, str, str]:
    names, backends = list(WORKLOADS), list(BACKENDS)
    return (
        names.index(cell.workload) if cell.workload in names else len(names),
        backends.index(cell.backend) if cell.backend in backends else len(backends),
        cell.workload,
        cell.backend,
    )


def agreement(bare: list[Line], fitq: list[Line]) -> Agreement | None:
    found: list[Agreement] = []
    models = {m for line in bare for m in line.get("final", {})}
    for model in sorted(models):
        bare_values, fitq_values = _final_val_loss(bare, model), _final_val_loss(fitq, model)
        fitq_value = median(fitq_values)
        bare_value = median(bare_values)
        if fitq_value is None or bare_value is None:
            continue
        spread = max(bare_values) - min(bare_values) if len(bare_values) > 1 else None
        p_value = rank_test(fitq_values, bare_values)
        found.append(Agreement(model, abs(fitq_value - bare_value), spread, p_value))
    return max(found, key=lambda a: a.delta, default=None)


def rank_test(first: list[float], second: list[float]) -> float | None:
    if len(first) < 2 or len(second) < 2:
        return None
    return float(mannwhitneyu(first, second, alternative="two-sided").pvalue)


def median_interval(values: list[float], confidence: float = 0.95) -> tuple[float, float] | None:
    """A confidence interval for the median that assumes no distribution: the order
    statistics x(k) and x(n+1-k), with the largest k whose coverage, 1 - 2 P(B <= k-1) for B
    binomial(n, 1/2), is at least `confidence`; None for too few values (n < 6 at 95%)."""
    ordered, tail = sorted(values), (1 - confidence) / 2
    n = len(ordered)
    if n == 0 or binom.cdf(0, n, 0.5) > tail:
        return None
    k = 1
    while binom.cdf(k, n, 0.5) <= tail:
        k += 1
    return ordered[k - 1], ordered[n - k]


def _final_val_loss(lines: list[Line], model: str) -> list[float]:
    values = [line.get("final", {}).get(model, {}).get("val_loss") for line in lines]
    return [float(v) for v in values if v is not None]


def wall(lines: list[Line]) -> float | None:
    return median(line.get("wall_seconds") for line in lines)


def _figure(lines: list[Line], key: str) -> float | None:
    return median(line.get(key) for line in lines)


HEADER = (
    "| workload | backend | runs bare / fitq | bare wall | fitq wall | fitq / bare | "
    f"target <= {SPEED_TARGET:g} | bare fit | worker fit | submit -> first epoch | "
    "peak RSS bare | peak RSS fitq | curves: max abs diff of final val_loss (model) | "
    "bare spread | within noise | rank test p | fitq-fit wall | limit fit (build, compile, run) | "
    "limit compile | bare / fitq | fitq / limit fit | fitq compile |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def row(cell: Cell) -> str:
    bare_wall, fitq_wall = wall(cell.bare), wall(cell.fitq)
    speed = ratio(fitq_wall, bare_wall)
    agree = agreement(cell.bare, cell.fitq)
    name = cell.workload
    if cell.overrides:
        epochs = ", ".join(str(e) for e in sorted(cell.overrides))
        name += f" (epochs {epochs}: not a benchmark)"
    # A worker that ran another backend than it was started with makes the row meaningless.
    other = {
        str(line.get("worker_backend"))
        for line in cell.fitq + cell.fitq_fit
        if line.get("worker_backend")
    }
    backend = cell.backend
    if other - {cell.backend}:
        backend += f" (worker reported {', '.join(sorted(other))})"
    runs = f"{len(cell.bare)} / {len(cell.fitq)}" + (
        f" ({cell.failed} failed)" if cell.failed else ""
    )
    cells_text = [
        name, backend, runs, seconds_text(bare_wall), seconds_text(fitq_wall),
        ratio_text(speed), _verdict(None if speed is None else speed <= SPEED_TARGET),
        seconds_text(_figure(cell.bare, "fit_seconds")),
        seconds_text(_figure(cell.fitq, "fit_seconds")),
        seconds_text(_figure(cell.fitq, "submit_to_first_epoch_seconds")),
        bytes_text(_figure(cell.bare, "peak_rss_bytes")),
        bytes_text(_figure(cell.fitq, "peak_rss_bytes")),
        "n/a" if agree is None else f"{agree.delta:.4f} ({agree.model})",
        "n/a" if agree is None or agree.spread is None else f"{agree.spread:.4f}",
        _verdict(None if agree is None else agree.within_noise),
        "n/a" if agree is None or agree.p_value is None else f"{agree.p_value:.2f}",
        seconds_text(wall(cell.fitq_fit)),
        seconds_text(limit_fit(cell)),
        seconds_text(_figure(cell.limit, "compile_seconds")),
        speedup_text(ratio(bare_wall, fitq_wall)),
        ratio_text(ratio(fitq_wall, limit_fit(cell))),
        seconds_text(_figure(cell.fitq, "compile_seconds")),
    ]  # fmt: skip
    return "| " + " | ".join(cells_text) + " |"


def limit_fit(cell: Cell) -> float | None:
    """The limit's median fit: building the model, compiling, one call for every epoch."""
    return _figure(cell.limit, "fit_seconds")


def _verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("yes" if ok else "no")


def imdb_target(found: list[Cell], default_backend: str) -> str:
    """The notebook as written (TensorFlow, dense float64) against fitq on its default
    backend, end to end: the five-model study should be at least 3x faster."""
    by_key = {(c.workload, c.backend): c for c in found}
    notebook = by_key.get(("imdb_study", NOTEBOOK_BACKEND))
    fitq = by_key.get(("imdb_study", default_backend))
    notebook_wall = wall(notebook.bare) if notebook else None
    fitq_wall = wall(fitq.fitq) if fitq else None
    speedup = ratio(notebook_wall, fitq_wall)
    overrides = (notebook.overrides if notebook else set()) | (fitq.overrides if fitq else set())
    note = " (epochs overridden: not a benchmark)" if overrides else ""
    return "\n".join([
        f"| IMDB study{note} | notebook as written ({NOTEBOOK_BACKEND}, dense float64) | "
        f"fitq ({default_backend}, fitq's default) | notebook / fitq | target >= {IMDB_TARGET:g} | "
        "peak RSS notebook | peak RSS fitq |",
        "|---|---|---|---|---|---|---|",
        f"| end to end | {seconds_text(notebook_wall)} | {seconds_text(fitq_wall)} | "
        f"{ratio_text(speedup)} | "
        f"{_verdict(None if speedup is None else speedup >= IMDB_TARGET)} | "
        f"{bytes_text(_figure(notebook.bare, 'peak_rss_bytes') if notebook else None)} | "
        f"{bytes_text(_figure(fitq.fitq, 'peak_rss_bytes') if fitq else None)} |",
    ])  # fmt: skip


def circles_targets(found: list[Cell]) -> str:
    """The circles workload on each backend: fitq end to end at least 10x faster than the
    bare script, and at most 1.5x the limit's fit (build, compile, run); separately for the runs
    whose worker compiled the program in the job and those that reused it (a rerun)."""
    lines = [
        "| circles targets | backend | fitq runs | fitq wall | bare / fitq | "
        f"target >= {CIRCLES_SPEEDUP_TARGET:g} | fitq / limit fit | "
        f"target <= {CIRCLES_LIMIT_TARGET:g} |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for cell in found:
        if cell.workload != "circles":
            continue
        note = " (epochs overridden: not a benchmark)" if cell.overrides else ""
        compiled = [line for line in cell.fitq if _compiled_in_job(line)]
        reused = [line for line in cell.fitq if not _compiled_in_job(line)]
        for label, runs in (("program compiled in the job", compiled), ("program reused", reused)):
            fitq_wall = wall(runs)
            speedup = ratio(wall(cell.bare), fitq_wall)
            to_limit = ratio(fitq_wall, limit_fit(cell))
            lines.append(
                f"| {label}{note} | {cell.backend} | {len(runs)} | {seconds_text(fitq_wall)} | "
                f"{speedup_text(speedup)} | "
                f"{_verdict(None if speedup is None else speedup >= CIRCLES_SPEEDUP_TARGET)} | "
                f"{ratio_text(to_limit)} | "
                f"{_verdict(None if to_limit is None else to_limit <= CIRCLES_LIMIT_TARGET)} |"
            )
    return "\n".join(lines)


def _compiled_in_job(line: Line) -> bool:
    """Whether a fitq run's worker got a program ready in the job (compiled, or loaded from
    the disk cache) rather than reusing one from an earlier job."""
    return any(program != "reused" for program in line.get("programs") or [])
