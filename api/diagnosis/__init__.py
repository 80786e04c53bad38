"""Over- and underfitting: the diagnosis of one experiment, with remedies (the rules are in
models/diagnosis.py)."""
