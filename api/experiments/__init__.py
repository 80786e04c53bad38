"""Experiments: submit a spec, read and list them, their history, cancel, the trained model and
the dry run."""
