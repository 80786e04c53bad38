"""The API's Prometheus instruments and a scrape's exposition. Imported only by
service.instruments(), after the metrics folder is chosen: prometheus-client picks its
file-backed values when it is first imported (models/metrics_dir.py)."""

from collections.abc import Iterator
from dataclasses import dataclass

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from models.tables import ExperimentStatus

# Seconds to an answer's headers; 30 and 60 for a large upload or a long wait for admission.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
CONTENT_TYPE = CONTENT_TYPE_LATEST


@dataclass(frozen=True)
class State:
    """What a scrape read from SQL and the broker; None where it could not read it."""

    by_status: dict[str, int] | None
    oldest_queued_seconds: float | None
    queue: str
    waiting: int | None


class Instruments:
    """One set per process; registry=None: the scrape's own registry reads them back from
    the folder's files, never from the library's global registry."""

    def __init__(self) -> None:
        self.requests = Counter(
            "fitq_http_requests",
            "HTTP requests answered, by route template, method and status",
            ["route", "method", "status"],
            registry=None,
        )
        self.latency = Histogram(
            "fitq_http_request_duration_seconds",
            "Seconds from a request's arrival to its answer's headers, by route template",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=None,
        )
        self.scrape_errors = Counter(
            "fitq_metrics_scrape_errors",
            "Scrapes of /metrics that could not read a source (database, broker)",
            ["source"],
            registry=None,
        )

    def exposition(self, state: State) -> bytes:
        """Every process's numbers of this group (its folder), and the state read now."""
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        registry.register(_StateCollector(state))
        return generate_latest(registry)


class _StateCollector(Collector):
    def __init__(self, state: State) -> None:
        self.state = state

    def collect(self) -> Iterator[Metric]:
        state = self.state
        if state.by_status is not None:
            family = GaugeMetricFamily(
                "fitq_experiments", "Experiments by status (SQL)", labels=["status"]
            )
            for status in ExperimentStatus:  # every status, 0 too: no series comes and goes
                family.add_metric([status.value], state.by_status.get(status.value, 0))
            yield family
        if state.oldest_queued_seconds is not None:
            yield GaugeMetricFamily(
                "fitq_oldest_queued_seconds",
                "Age of the oldest queued experiment in seconds (SQL); 0 when none is queued",
                value=state.oldest_queued_seconds,
            )
        if state.waiting is not None:
            family = GaugeMetricFamily(
                "fitq_queue_depth",
                "Training messages waiting in the broker for a worker",
                labels=["queue"],
            )
            family.add_metric([state.queue], state.waiting)
            yield family
