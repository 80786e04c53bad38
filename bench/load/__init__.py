"""The API under load: `python -m bench.load` runs locust against a real uvicorn on a
throw-away PostgreSQL database (see BENCHMARKS.md, "API under load")."""
