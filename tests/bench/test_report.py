"""The benchmark's report: medians, ratios and targets per workload and backend, "n/a" for what
this fitq does not report yet, smoke runs marked as such, interrupted results files read."""

from pathlib import Path
from typing import Any

import pytest

from bench import render, results
from bench.bare.report import FitTimer, emit
from bench.fitq_client import (
    LONGEST_POLL_SECONDS,
    POLL_SECONDS,
    Pacer,
    _experiment_names,
    columns,
    worker_figures,
)
from bench.report import agreement, median, median_interval, ratio
from bench.runs import final_metrics

META = {
    "type": "meta", "run_id": "abc", "date": "2026-01-02T03:04:05+00:00",
    "machine": {"platform": "Linux", "cpu": "Some CPU", "cpus": 2, "memory_bytes": 8 * 1024**3,
                "gpus": []},
    "versions": {"python": "3.11.9", "keras": "3.15.1"},
    "options": {"workloads": ["circles"], "backends": ["jax"], "repeats": 3,
                "epochs_override": None},
    "fitq_default_backend": "jax", "fitq_environment": {},
}  # fmt: skip


def run(kind: str, wall: float, val_loss: float, **extra: Any) -> dict[str, Any]:
    workload = extra.pop("workload", "circles")
    model = extra.pop("model", workload)
    return {
        "type": "run", "kind": kind, "workload": workload, "backend": extra.pop("backend", "jax"),
        "repeat": 0, "epochs_override": None, "error": None, "wall_seconds": wall,
        "final": {model: {"val_loss": val_loss, "loss": 0.1}},
    } | extra  # fmt: skip


def table_row(text: str, starts: str) -> list[str]:
    line = next(line for line in text.splitlines() if line.startswith(starts))
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_medians_ratio_and_targets_of_each_side() -> None:
    lines = [
        META,
        run("bare", 30.0, 0.50, fit_seconds=20.0, peak_rss_bytes=300 * 1024**2),
        run("fitq", 12.0, 0.52, fit_seconds=10.0, submit_to_first_epoch_seconds=0.4,
            peak_rss_bytes=200 * 1024**2),
        run("bare", 10.0, 0.56, fit_seconds=8.0, peak_rss_bytes=310 * 1024**2),
        run("fitq", 14.0, 0.53, fit_seconds=11.0, submit_to_first_epoch_seconds=0.6,
            peak_rss_bytes=210 * 1024**2),
        run("bare", 20.0, 0.53, fit_seconds=9.0, peak_rss_bytes=320 * 1024**2),
        run("fitq", 13.0, 0.54, fit_seconds=12.0, submit_to_first_epoch_seconds=0.5,
            peak_rss_bytes=220 * 1024**2),
    ]  # fmt: skip
    text = render.markdown(lines)
    cells = table_row(text, "| circles")
    assert cells[:7] == ["circles", "jax", "3 / 3", "20.0 s", "13.0 s", "0.65", "yes"]
    assert cells[7:12] == ["9.00 s", "11.0 s", "0.50 s", "310 MiB", "210 MiB"]
    # medians 0.53 (bare) and 0.53 (fitq): within the bare repeats' spread 0.56 - 0.50
    assert cells[12:16] == ["0.0000 (circles)", "0.0600", "yes", "1.00"]
    # no limit and no fitq-fit runs; bare / fitq = 20 / 13; no compile reported
    assert cells[16:] == ["n/a", "n/a", "n/a", "1.54x", "n/a", "n/a"]
    assert "Run abc on 2026-01-02T03:04:05+00:00: 2 CPUs (Some CPU), 8.00 GiB" in text
    assert "keras 3.15.1" in text and "not a benchmark" not in text.lower()


def test_what_this_fitq_does_not_report_is_na_and_a_slow_fitq_misses_the_target() -> None:
    lines = [META, run("bare", 10.0, 0.5), run("fitq", 11.0, 0.9)]
    cells = table_row(render.markdown(lines), "| circles")
    assert cells[5:11] == ["1.10", "no", "n/a", "n/a", "n/a", "n/a"]
    assert cells[12:16] == ["0.4000 (circles)", "n/a", "n/a", "n/a"]  # one bare run: no spread


def test_a_worker_that_reports_another_backend_is_flagged() -> None:
    lines = [META, run("bare", 1.0, 0.5), run("fitq", 1.0, 0.5, worker_backend="tensorflow")]
    assert table_row(render.markdown(lines), "| circles")[1] == "jax (worker reported tensorflow)"
    lines[2]["worker_backend"] = "jax"
    assert table_row(render.markdown(lines), "| circles")[1] == "jax"


def test_the_limit_and_fitq_on_fit_get_columns_and_the_circles_targets_a_table() -> None:
    lines = [
        META,
        run("bare", 12.0, 0.5),
        run("bare", 10.0, 0.5),
        run("fitq", 1.0, 0.5, compile_seconds=1.1, trainer=["compiled"], programs=["compiled"]),
        run("fitq", 0.8, 0.5, compile_seconds=0.0, trainer=["compiled"], programs=["reused"]),
        run("limit", 4.0, 0.5, fit_seconds=1.3, compile_seconds=1.1),
        run("fitq-fit", 9.0, 0.5, worker_backend="jax"),
        run("fitq-fit", 11.0, 0.5, worker_backend="tensorflow"),
    ]
    text = render.markdown(lines)
    cells = table_row(text, "| circles")
    assert cells[:3] == ["circles", "jax (worker reported jax, tensorflow)", "2 / 2"]
    assert cells[4] == "0.90 s"  # the limit and fitq-fit are not fitq's runs
    # fitq-fit 10 s; limit 1.3 s (compile 1.1 s); 11 / 0.9; 0.9 / 1.3; compile median 0.55 s
    assert cells[16:] == ["10.0 s", "1.30 s", "1.10 s", "12.2x", "0.69", "0.55 s"]
    # Bare 11 s; the run that compiled 1.0 s, the rerun 0.8 s; the limit's fit 1.3 s.
    assert table_row(text, "| program compiled in the job") == [
        "program compiled in the job", "jax", "1", "1.00 s", "11.0x", "yes", "0.77", "yes",
    ]  # fmt: skip
    assert table_row(text, "| program reused") == [
        "program reused", "jax", "1", "0.80 s", "13.8x", "yes", "0.62", "yes",
    ]  # fmt: skip
    assert "| circles targets | backend | fitq runs | fitq wall | bare / fitq |" in text
    assert "FITQ_TRAINER=fit" in text


def test_a_circles_target_without_the_limit_is_na() -> None:
    lines = [META, run("bare", 5.0, 0.5), run("fitq", 1.0, 0.5)]
    target = table_row(render.markdown(lines), "| program reused")
    assert target == ["program reused", "jax", "1", "1.00 s", "5.00x", "no", "n/a", "n/a"]
    assert "circles targets" not in render.markdown([META, run("bare", 5.0, 0.5, workload="x")])


def test_smoke_runs_are_marked_as_not_a_benchmark_and_failures_counted() -> None:
    lines = [
        META,
        run("bare", 1.0, 0.5, epochs_override=3),
        run("fitq", 2.0, 0.5, epochs_override=3),
        run("fitq", 2.0, 0.5, epochs_override=3) | {"error": "failed: diverged"},
    ]
    text = render.markdown(lines)
    assert "**Not a benchmark**" in text
    assert table_row(text, "| circles")[:3] == [
        "circles (epochs 3: not a benchmark)", "jax", "1 / 1 (1 failed)",
    ]  # fmt: skip
    assert "1 run(s) failed" in text


def test_imdb_target_compares_the_notebook_on_tensorflow_with_fitqs_default_backend() -> None:
    imdb = {"workload": "imdb_study", "model": "bigger"}
    lines = [
        META,  # fitq's default backend: jax
        run("bare", 900.0, 0.9, backend="tensorflow", peak_rss_bytes=9 * 1024**3, **imdb),
        run("fitq", 500.0, 0.9, backend="tensorflow", **imdb),
        run("bare", 400.0, 0.9, backend="jax", **imdb),
        run("fitq", 250.0, 0.9, backend="jax", peak_rss_bytes=2 * 1024**3, **imdb),
    ]
    text = render.markdown(lines)
    assert "| imdb_study | tensorflow | 1 / 1 |" in text and "| imdb_study | jax | 1 / 1 |" in text
    target = table_row(text, "| end to end")
    assert target == ["end to end", "900 s", "250 s", "3.60", "yes", "9.00 GiB", "2.00 GiB"]
    assert "fitq (jax, fitq's default)" in text


def test_agreement_names_the_model_that_differs_most() -> None:
    bare = [
        {"final": {"a": {"val_loss": v}, "b": {"val_loss": w}}} for v, w in [(1, 2), (1.2, 2.4)]
    ]
    fitq = [{"final": {"a": {"val_loss": 1.1}, "b": {"val_loss": 2.9}}}]
    found = agreement(bare, fitq)
    assert found is not None
    assert (found.model, found.delta, found.within_noise) == ("b", pytest.approx(0.7), False)
    assert found.spread == pytest.approx(0.4)


def test_the_rank_test_tells_two_distributions_apart_where_the_spread_test_cannot() -> None:
    def lines(values: list[float]) -> list[dict[str, Any]]:
        return [{"final": {"m": {"val_loss": v}}} for v in values]

    # Five tight bare draws and five wide fitq draws around them: the spread test
    # fails them, the rank test finds nothing.
    same = agreement(lines([0.94, 0.95, 0.96, 0.95, 0.945]), lines([0.80, 0.90, 0.99, 1.02, 1.1]))
    assert same is not None and same.within_noise is False
    assert same.p_value is not None and same.p_value > 0.5
    # Every fitq draw above every bare draw: p = 2 / C(10, 5) = 0.0079.
    apart = agreement(lines([0.90, 0.91, 0.92, 0.93, 0.94]), lines([1.0, 1.01, 1.02, 1.03, 1.04]))
    assert apart is not None and apart.p_value == pytest.approx(2 / 252, rel=1e-3)
    one = agreement(lines([0.9]), lines([1.0, 1.1]))
    assert one is not None and one.p_value is None  # fewer than two runs a side


def test_median_and_ratio_skip_what_is_missing() -> None:
    assert median([3.0, None, 1.0, 2.0]) == 2.0 and median([None]) is None
    assert ratio(1.0, 4.0) == 0.25 and ratio(None, 4.0) is None and ratio(1.0, 0.0) is None


def test_an_interrupted_results_file_keeps_its_complete_lines(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    results.append(path, META)
    results.append(path, run("bare", 1.0, 0.5))
    with path.open("a") as out:
        out.write('{"type": "run", "kind": "fi')  # killed mid-write
    assert [line["type"] for line in results.read(path)] == ["meta", "run"]


def test_a_bare_scripts_json_line_is_found_after_its_other_output(
    capsys: pytest.CaptureFixture[str],
) -> None:
    timer = FitTimer()
    with timer("circles"):
        pass
    print("Train: 1.000, Test: 0.757")
    emit(timer, {"circles": {"loss": [0.7, 0.5], "val_loss": [0.69, 0.6]}})
    line = results.last_json_line(capsys.readouterr().out)
    assert line["histories"] == {"circles": {"loss": [0.7, 0.5], "val_loss": [0.69, 0.6]}}
    assert line["fit_seconds"] == line["fit_seconds_by_model"]["circles"] >= 0
    assert line["peak_rss_bytes"] > 10 * 1024**2


def test_worker_figures_read_timings_when_fitq_reports_them() -> None:
    bare_experiment = {"created_at": "2026-01-02T03:04:05Z", "status": "succeeded"}
    assert worker_figures([bare_experiment]) == {
        "fit_seconds": None, "peak_rss_bytes": None, "submit_to_first_epoch_seconds": None,
        "worker_backend": None, "trainer": None, "compile_seconds": None, "programs": None,
    }  # fmt: skip
    timed = [
        bare_experiment | {"backend": "jax", "timings": {
            "fit_seconds": 2.0, "max_rss_bytes": 100, "first_epoch_at": "2026-01-02T03:04:06.5Z"}},
        {"created_at": "2026-01-02T03:04:05+00:00", "backend": "jax", "timings": {
            "fit_seconds": 3.0, "max_rss_bytes": 300, "first_epoch_at": "2026-01-02T03:04:09Z"}},
    ]  # fmt: skip
    timed[0]["trainer"] = {"name": "compiled", "compile_seconds": 1.25, "program": "compiled"}
    timed[1]["trainer"] = {"name": "compiled", "compile_seconds": 0.0, "program": "reused"}
    assert worker_figures(timed) == {
        "fit_seconds": 5.0, "peak_rss_bytes": 300, "submit_to_first_epoch_seconds": 1.5,
        "worker_backend": "jax", "trainer": ["compiled"], "compile_seconds": 1.25,
        "programs": ["compiled", "reused"],
    }  # fmt: skip
    fallback = {"name": "fit", "fallback": "FITQ_TRAINER=fit"}
    figures = worker_figures([bare_experiment | {"trainer": fallback}])
    assert (figures["trainer"], figures["compile_seconds"], figures["programs"]) == (
        ["fit"], None, None,
    )  # fmt: skip


def test_history_rows_become_kerass_history_columns() -> None:
    rows: list[dict[str, Any]] = [
        {"epoch": 1, "loss": 0.7, "val_loss": 0.8},
        {"epoch": 2, "loss": 0.6, "val_loss": None},
    ]
    assert columns(rows) == {"loss": [0.7, 0.6], "val_loss": [0.8, None]}


def test_a_studys_experiments_are_named_by_their_variants() -> None:
    created = {
        "summary": [
            {"variant": "baseline", "per_run": [{"experiment_id": 7}]},
            {"variant": "bigger", "per_run": [{"experiment_id": 8}]},
        ]
    }
    assert _experiment_names(created, "imdb_study", "/studies") == {7: "baseline", 8: "bigger"}
    assert _experiment_names({"id": 3}, "circles", "/experiments") == {3: "circles"}
    # a recipe answers as POST /studies does
    assert _experiment_names(created, "x", "/recipes/regularization") == {
        7: "baseline",
        8: "bigger",
    }
    with pytest.raises(ValueError, match="/datasets"):
        _experiment_names(created, "x", "/datasets")


def test_final_metrics_are_each_models_last_recorded_values() -> None:
    histories: dict[str, dict[str, list[Any]]] = {
        "a": {"loss": [0.7, 0.5], "val_loss": [0.8, None], "auc": []}
    }
    assert final_metrics(histories) == {"a": {"loss": 0.5}}


def test_the_client_polls_often_at_the_start_and_near_the_end_and_seldom_in_between() -> None:
    pacer = Pacer()

    def delay(done: int, now: float, status: str = "running") -> float:
        experiment = {"current_epoch": done, "epochs_total": 4000, "status": status}
        return pacer.delay(experiment, now)

    assert delay(0, 1.0, "queued") == POLL_SECONDS
    assert delay(0, 2.0) == POLL_SECONDS  # no epoch yet: the first one is timed
    assert delay(1, 3.0) == POLL_SECONDS  # the first epoch: no rate yet
    assert delay(1, 3.1) == POLL_SECONDS  # the same count: still no rate
    assert delay(101, 4.0) == LONGEST_POLL_SECONDS  # 100 epochs a second: 39 s left
    assert delay(3801, 41.0) == pytest.approx(0.5, rel=0.01)  # 2 s left
    assert delay(3991, 42.9) == POLL_SECONDS  # 0.09 s left
    assert delay(4000, 43.0) == POLL_SECONDS  # all done, the status not final yet


def test_a_short_fit_is_polled_at_the_shortest_interval_throughout() -> None:
    # 20 epochs of 40 ms after a 2 s start: the end is seen within POLL_SECONDS.
    pacer = Pacer()
    experiment = {"epochs_total": 20, "status": "running"}
    assert pacer.delay(experiment | {"current_epoch": 1}, 2.0) == POLL_SECONDS
    assert pacer.delay(experiment | {"current_epoch": 12}, 2.4) == POLL_SECONDS


def test_the_median_interval_takes_the_order_statistics_of_the_binomial() -> None:
    # n = 12: x(3) and x(10), coverage 1 - 2 P(B <= 2) = 96.1% (the usual table's values).
    assert median_interval([float(v) for v in range(12, 0, -1)]) == (3.0, 10.0)
    assert median_interval([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]) == (1.0, 6.0)  # 96.9%
    assert median_interval([1.0, 2.0, 3.0, 4.0, 5.0]) is None  # at best 93.8%
