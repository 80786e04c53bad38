"""keras.datasets loaders (being written)."""
