"""A synthetic stand-in for Keras's imdb.npz, for machines without the real file (or internet).

Same format as the real file: `x_train` and `x_test` are object arrays of plain int lists of
word ranks (1 = the most frequent word; keras.datasets.imdb.load_data and fitq's loader add
index_from=3 and put start_char=1 first), `y_train` and `y_test` 0/1 labels. Ranks are drawn
from a Zipf law (p ~ 1/rank) below `vocabulary`, so once offset they stay below
vocabulary + index_from; reviews have about `mean_words` words (log-normal lengths, as real
reviews vary). A random tenth of the ranks between `neutral_words` and `polar_below` carry a
hidden sentiment weight (the most frequent ranks carry none, as "the" and "and" do not); a
review is positive when the weights of the words it contains sum above the median review's,
then a fraction `label_noise` of labels is flipped. With these defaults a regularized linear
model reaches about 88% validation accuracy (as on the real reviews) and an unregularized one
overfits, so the notebook's models learn and the bigger one overfits. Seeded: the same config
writes the same file.

`python -m bench.imdb_synth FOLDER` writes FOLDER/imdb.npz."""

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

FILE_NAME = "imdb.npz"


@dataclass(frozen=True)
class SynthConfig:
    n_train: int = 25_000
    n_test: int = 25_000
    vocabulary: int = 10_000  # ranks 1 .. vocabulary - 1
    mean_words: float = 200.0
    neutral_words: int = 50  # the most frequent ranks, never polar
    polar_below: int = 2_000  # polar words are drawn among ranks below this
    polar_fraction: float = 0.1
    label_noise: float = 0.02
    seed: int = 0


@dataclass(frozen=True)
class Reviews:
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def _ragged(flat: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """An object array of plain int lists, as the real file holds (never a 2-D array, even
    if all lengths were equal)."""
    out = np.empty(len(lengths), dtype=object)
    for i, words in enumerate(np.split(flat, np.cumsum(lengths)[:-1])):
        out[i] = words.tolist()
    return out


def generate(config: SynthConfig = SynthConfig()) -> Reviews:
    rng = np.random.default_rng(config.seed)
    n, vocabulary = config.n_train + config.n_test, config.vocabulary
    ranks = np.arange(1, vocabulary)
    weights = _sentiment(rng, config)
    sigma = 0.5  # log-normal spread; the mean stays mean_words
    drawn = rng.lognormal(np.log(config.mean_words) - sigma**2 / 2, sigma, n)
    lengths = np.maximum(1, np.rint(drawn)).astype(np.int64)
    zipf = 1.0 / ranks
    flat = rng.choice(ranks, size=int(lengths.sum()), p=zipf / zipf.sum())
    # The score counts each word once, as the multi-hot vector the models see does.
    present = np.sort(np.repeat(np.arange(n), lengths) * vocabulary + flat)
    present = present[np.r_[True, present[1:] != present[:-1]]]  # np.unique, without its hash
    scores = np.bincount(present // vocabulary, weights[present % vocabulary], minlength=n)
    # Above the median, not above 0, so the classes are balanced whatever the weights drawn.
    labels = (scores > np.median(scores)) ^ (rng.random(n) < config.label_noise)
    x, y = _ragged(flat, lengths), labels.astype(np.int64)
    cut = config.n_train
    return Reviews(x[:cut], y[:cut], x[cut:], y[cut:])


def _sentiment(rng: np.random.Generator, config: SynthConfig) -> np.ndarray:
    """Each rank's hidden weight (index = rank): normal for the polar words, else 0."""
    weights = rng.normal(size=config.vocabulary)
    rank = np.arange(config.vocabulary)
    polar = rng.random(config.vocabulary) < config.polar_fraction
    polar &= (rank > config.neutral_words) & (rank < config.polar_below)
    return np.where(polar, weights, 0.0)


def write_imdb(folder: Path, config: SynthConfig = SynthConfig()) -> Path:
    """Write folder/imdb.npz (folder is a Keras cache folder: KERAS_HOME/datasets)."""
    reviews = generate(config)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / FILE_NAME
    np.savez(
        path, x_train=reviews.x_train, y_train=reviews.y_train,
        x_test=reviews.x_test, y_test=reviews.y_test,
    )  # fmt: skip
    return path


def main(
    folder: Annotated[Path, typer.Argument(help="Keras cache folder to write imdb.npz into")],
    seed: Annotated[int, typer.Option(min=0)] = 0,
) -> None:
    """Write a synthetic IMDB-shaped imdb.npz (25,000 + 25,000 reviews) into FOLDER."""
    path = write_imdb(folder, SynthConfig(seed=seed))
    typer.echo(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    typer.run(main)
