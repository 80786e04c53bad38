"""Parsing an upload: CSV or NPZ told apart by their first bytes, each read into the arrays
a dataset stores, with what is wrong with the file and where."""
