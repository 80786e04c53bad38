"""Uploaded datasets (being written)."""
