"""The one door between the API and the queue: task names, the Celery app (built on first use),
enqueue after commit, the dry-run call and the broker's health. Keras-free, and it imports
nothing from worker/ (an import-linter contract in pyproject.toml keeps it so)."""
