"""Benchmarks of fitq, run from a checkout (see BENCHMARKS.md)."""
