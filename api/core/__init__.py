"""What the domains share: the request's dependencies and transaction edge, errors and outages,
idempotency, API keys, the body limit and request checks, list filters, pages, the caches
and downsampling, admission."""
