"""The notebooks' own training code, as bare scripts (`python -m bench.bare.NAME`): what fitq
is measured against. Each prints one JSON line last (see report.py)."""
