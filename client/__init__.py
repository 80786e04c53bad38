"""The `fitq` command's client side: submit, watch, list, read, export, plot and cancel runs
over HTTP (FITQ_URL, FITQ_API_KEY). Imports nothing from the server's packages but the
command they share."""
