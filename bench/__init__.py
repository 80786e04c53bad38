"""Benchmarks: commands that measure fitq, run from the checkout (see BENCHMARKS.md)."""
