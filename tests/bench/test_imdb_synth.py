"""The synthetic IMDB stand-in is a real imdb.npz to Keras's loader and to fitq's, and its
labels follow its words (so the benchmark's models have something to learn and to overfit)."""

from collections.abc import Iterator
from pathlib import Path

import keras
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from bench.imdb_synth import SynthConfig, generate, write_imdb
from models.settings import get_settings
from models.spec_datasets import ImdbDataset
from worker.training import datasets_keras as dk

SMALL = SynthConfig(n_train=3000, n_test=3000, vocabulary=1000, polar_below=500, mean_words=100)


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    folder = tmp_path / "datasets"
    monkeypatch.setenv("FITQ_KERAS_DATASETS_DIR", str(folder))
    monkeypatch.setenv("FITQ_DATASET_DOWNLOADS", "false")
    get_settings.cache_clear()
    yield folder
    monkeypatch.undo()
    get_settings.cache_clear()


def presence(reviews: np.ndarray, num_words: int) -> np.ndarray:
    """The notebook's multi_hot_sequences, in float32."""
    out = np.zeros((len(reviews), num_words), dtype=np.float32)
    for i, words in enumerate(reviews):
        out[i, words] = 1.0
    return out


def test_keras_and_fitq_load_the_file_as_the_real_one(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = SynthConfig(n_train=300, n_test=200, vocabulary=500, polar_below=200)
    path = write_imdb(cache, config)
    # keras's own loader on the file, its download and hash check skipped (as bench/bare/imdb.py)
    monkeypatch.setattr("keras.src.datasets.imdb.get_file", lambda *a, **k: str(path))
    (x_train, y_train), (x_test, y_test) = keras.datasets.imdb.load_data(num_words=400)
    assert len(x_train) == 300 and len(x_test) == 200
    assert all(review[0] == 1 for review in x_train)  # start_char, then ranks + index_from
    assert max(max(review) for review in x_train) < 400
    fitq = dk.imdb(ImdbDataset(name="imdb", num_words=400))
    assert fitq.x_test is not None and fitq.y_test is not None
    np.testing.assert_array_equal(fitq.x_train, presence(x_train, 400))
    np.testing.assert_array_equal(fitq.x_test, presence(x_test, 400))
    np.testing.assert_array_equal(fitq.y_train, y_train)
    np.testing.assert_array_equal(fitq.y_test, y_test)


def test_reviews_are_int_lists_of_zipf_ranks_with_balanced_labels() -> None:
    reviews = generate(SMALL)
    assert reviews.x_train.dtype == object and reviews.x_train.shape == (3000,)
    assert all(type(r) is list and type(r[0]) is int for r in reviews.x_train[:50])
    words = np.concatenate([np.array(r) for r in reviews.x_train])
    assert words.min() >= 1 and words.max() < SMALL.vocabulary
    lengths = [len(r) for r in reviews.x_train]
    assert 90 < np.mean(lengths) < 110 and min(lengths) < 60 < 160 < max(lengths)
    counts = np.bincount(words)  # p(rank) ~ 1 / rank
    assert counts[1] / counts[2] == pytest.approx(2, rel=0.1)
    assert counts[2] / counts[3] == pytest.approx(1.5, rel=0.1)
    assert 0.45 < reviews.y_train.mean() < 0.55 and set(reviews.y_test.tolist()) == {0, 1}


def test_the_same_seed_writes_the_same_reviews() -> None:
    config = SynthConfig(n_train=50, n_test=50)
    first, again = generate(config), generate(config)
    other = generate(SynthConfig(n_train=50, n_test=50, seed=1))
    assert first.x_train.tolist() == again.x_train.tolist()
    np.testing.assert_array_equal(first.y_test, again.y_test)
    assert first.x_train.tolist() != other.x_train.tolist()


def test_labels_follow_the_words_well_enough_to_learn_and_to_overfit() -> None:
    reviews = generate(SMALL)
    x_train = presence(reviews.x_train, SMALL.vocabulary)
    x_test = presence(reviews.x_test, SMALL.vocabulary)
    model = LogisticRegression(C=0.1, max_iter=2000).fit(x_train, reviews.y_train)
    train, test = model.score(x_train, reviews.y_train), model.score(x_test, reviews.y_test)
    assert test > 0.8, test  # learnable from the words alone
    assert train > test + 0.05, (train, test)  # and a fitted model does better on what it saw
