"""Draws docs/study_plot.png (shown in docs/plots-and-diagnosis.md) from the five IMDB runs of
the "overfit and underfit" notebook (their published Keras logs, parsed into
tests/fixtures/imdb_notebook/ by tests/fixtures/make_imdb_notebook.py).

    PYTHONPATH=$PWD python scripts/study_plot_example.py
"""

import json
from pathlib import Path

from api.plots.figures import png_bytes
from api.plots.figures_studies import study_figure

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
LOGS = ROOT / "tests" / "fixtures" / "imdb_notebook"
MODELS = ("baseline", "smaller", "bigger", "l2", "dropout")


def main() -> None:
    # One repeat per variant: the notebook trained each model once.
    variants = {name: [json.loads((LOGS / f"{name}.json").read_text())] for name in MODELS}
    title = "IMDB, 10,000-word multi-hot: binary_crossentropy"
    figure = study_figure(variants, "binary_crossentropy", title, 1000, 600, 100)
    (DOCS / "study_plot.png").write_bytes(png_bytes(figure))


if __name__ == "__main__":
    main()
