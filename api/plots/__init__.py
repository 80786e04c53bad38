"""Plots: PNG learning curves of an experiment, of a study's variants and of experiments side by
side, and a grid sweep's best values; drawn with matplotlib's Figure API, cached per process."""
