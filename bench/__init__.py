"""Benchmarks: `python -m bench.api_bench` times the history and plot routes (BENCHMARKS.md)."""
