"""The load test's pure parts: reading locust's CSV, turning rates into users, and the spec it
submits. Locust itself is not needed (CI does not install it)."""

from pathlib import Path

import pytest

from bench.load.plan import HISTORY, STATUS, SUBMIT, SUBMIT_SPEC, plan_rate
from bench.load.stats import AGGREGATED, markdown_table, read_stats, total_failures
from models import shapes
from models.limits import problems
from models.settings import Settings
from models.spec import ExperimentSpec

# Written by locust 2.47 (`--csv`), trimmed to fewer decimals; history got no answer at all.
LOCUST_CSV = """\
Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,\
Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,\
90%,95%,98%,99%,99.9%,99.99%,100%
POST,/experiments,56,2,41,134.2,15.2,1898.3,1030.8,1.93,0.07,41,58,69,77,140,590,1900,1900,1900,\
1900,1900
GET,/experiments/{id},704,0,120,247.3,7.3,2497.7,1125.1,24.33,0.0,120,220,290,340,510,900,2100,\
2200,2500,2500,2500
GET,/experiments/{id}/history,0,3,0,0,0,0,0,0.0,0.1,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A
,Aggregated,760,5,120,251.9,7.3,2497.7,1100.5,26.3,0.17,120,230,290,350,540,900,2100,2200,2500,\
2500,2500
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "locust_stats.csv"
    path.write_text(text)
    return path


def test_reads_each_endpoint_under_the_names_the_runner_uses(tmp_path: Path) -> None:
    stats = {s.endpoint: s for s in read_stats(write(tmp_path, LOCUST_CSV))}
    assert list(stats) == [SUBMIT, STATUS, HISTORY, AGGREGATED]
    status = stats[STATUS]
    assert (status.requests, status.failures, status.p50_ms, status.p99_ms) == (704, 0, 120, 2200)
    assert status.rate == pytest.approx(24.33)
    # No answer, no percentiles: locust's N/A is kept as unknown, not as 0 ms.
    assert (stats[HISTORY].p50_ms, stats[HISTORY].p99_ms) == (None, None)


def test_failures_are_summed_over_endpoints_once(tmp_path: Path) -> None:
    assert total_failures(read_stats(write(tmp_path, LOCUST_CSV))) == 5


def test_a_file_that_is_not_locusts_stats_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"not a locust stats CSV.*'99%'"):
        read_stats(write(tmp_path, "Type,Name,Request Count\nGET,/x,1\n"))
    with pytest.raises(ValueError, match="not a locust stats CSV"):
        read_stats(write(tmp_path, ""))


def test_table_shows_offered_and_achieved_rates_and_unknown_times(tmp_path: Path) -> None:
    offered = {STATUS: 25.0, HISTORY: 5.0, SUBMIT: 2.0}
    lines = markdown_table(read_stats(write(tmp_path, LOCUST_CSV)), offered).splitlines()
    assert lines[0].startswith("| endpoint | offered/s | requests | achieved/s | p50 | p99")
    assert "| GET /experiments/{id} | 25 | 704 | 24.3 | 120 ms | 2200 ms | 0 |" in lines
    assert "| GET /experiments/{id}/history | 5 | 0 | 0.0 | n/a | n/a | 3 |" in lines
    assert lines[-1] == "| Aggregated | 32 | 760 | 26.3 | 120 ms | 2200 ms | 5 |"


@pytest.mark.parametrize(
    ("rate", "users", "per_user"), [(50, 50, 1.0), (5, 5, 1.0), (2.5, 3, 2.5 / 3), (0.5, 1, 0.5)]
)
def test_a_rate_becomes_users_of_at_most_one_request_a_second(
    rate: float, users: int, per_user: float
) -> None:
    plan = plan_rate(rate)
    assert (plan.users, plan.per_user) == (users, pytest.approx(per_user))
    assert plan.users * plan.per_user == pytest.approx(rate)


def test_a_rate_of_zero_is_refused() -> None:
    with pytest.raises(ValueError, match="above 0"):
        plan_rate(0)


def test_the_submitted_spec_passes_validation_shapes_and_default_limits() -> None:
    spec = ExperimentSpec.model_validate(SUBMIT_SPEC)
    input_shape = spec.dataset.input_shape
    assert input_shape is not None
    shapes.check(input_shape, spec.model.layers)
    assert problems(spec, input_shape, Settings()) == []
