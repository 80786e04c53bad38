"""Datasets: CSV and NPZ uploads, parsed and checked, stored as NPZ to train on."""
