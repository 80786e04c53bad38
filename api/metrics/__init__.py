"""GET /metrics: Prometheus metrics of the API (docs/operations.md#metrics)."""
