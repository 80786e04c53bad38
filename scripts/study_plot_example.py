"""Draws docs/study_plot.png, the README's example study plot, from the five IMDB runs of
the "overfit and underfit" notebook (their Keras logs, typed into docs/imdb_histories.json).

    PYTHONPATH=$PWD python scripts/study_plot_example.py
"""

import json
from pathlib import Path

from api.plotting import png_bytes
from api.plotting_studies import study_figure

DOCS = Path(__file__).resolve().parents[1] / "docs"


def main() -> None:
    histories = json.loads((DOCS / "imdb_histories.json").read_text())
    # One repeat per variant: the notebook trained each model once.
    variants = {name: [rows] for name, rows in histories.items()}
    title = "IMDB, 10,000-word multi-hot: binary_crossentropy"
    figure = study_figure(variants, "binary_crossentropy", title, 1000, 600, 100)
    (DOCS / "study_plot.png").write_bytes(png_bytes(figure))


if __name__ == "__main__":
    main()
