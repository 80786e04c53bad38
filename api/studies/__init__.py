"""Studies: models side by side, built from one base spec (expansion, checks, summary, recipes)."""
