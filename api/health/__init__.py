"""/healthz: whether the database and the broker are reachable."""
