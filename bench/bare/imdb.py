"""The five models of the IMDB over- and underfitting notebook (seed 000) as written: multi-hot
reviews in a dense float64 matrix (np.zeros), baseline 16-16, smaller 4-4, bigger 512-512,
L2 0.001 and dropout 0.5 on 16-16; adam, 20 epochs, batch 512, the test split validating.

Deviations, each needed to run on Keras 3 offline (marked below where they are): `import keras`
(Keras 3, whose backend KERAS_BACKEND picks) in place of `import tensorflow as tf` and
`from tensorflow import keras`; the hash check of imdb.npz; labels shaped (n, 1); the epoch count
can be lowered for smoke tests; fit calls are timed and the script ends with the harness's JSON
line; the plots are left out; the models named on the command line are fitted, all five
when none is (the harness's imdb_baseline workload fits the baseline alone), and each history
goes into `histories` as its fit ends."""

import sys
from typing import Any

import keras
import keras.src.datasets.imdb
import numpy as np
from keras.utils import get_file

from bench.bare.report import FitTimer, emit, epochs


# Deviation: keras checks imdb.npz against the real file's hash and, on a mismatch, downloads
# it again; the benchmark's file is the synthetic stand-in (bench/imdb_synth.py), so it is
# read from Keras's cache folder (KERAS_HOME/datasets) without that check.
def _get_file_unchecked(*args: Any, file_hash: str | None = None, **kwargs: Any) -> str:
    return str(get_file(*args, **kwargs))


keras.src.datasets.imdb.get_file = _get_file_unchecked

NUM_WORDS = 10000
EPOCHS = epochs(20)
# Deviation: which models to fit (see above).
MODELS = set(sys.argv[1:]) or {"baseline", "smaller", "bigger", "l2", "dropout"}
histories: dict[str, Any] = {}

(train_data, train_labels), (test_data, test_labels) = keras.datasets.imdb.load_data(
    num_words=NUM_WORDS
)


def multi_hot_sequences(sequences: Any, dimension: int) -> np.ndarray:
    # Create an all-zero matrix of shape (len(sequences), dimension)
    results = np.zeros((len(sequences), dimension))
    for i, word_indices in enumerate(sequences):
        results[i, word_indices] = 1.0  # set specific indices of results[i] to 1s
    return results


train_data = multi_hot_sequences(train_data, dimension=NUM_WORDS)
test_data = multi_hot_sequences(test_data, dimension=NUM_WORDS)
# Deviation: Keras 3 raises a rank error for the 'binary_crossentropy' metric on 1-D labels
# (Keras 2 broadcast them); fitq shapes labels the same way (worker/training/targets.py).
train_labels = train_labels.reshape(-1, 1)
test_labels = test_labels.reshape(-1, 1)
timer = FitTimer()

baseline_model = keras.Sequential(
    [
        # `input_shape` is only required here so that `.summary` works.
        keras.layers.Dense(16, activation="relu", input_shape=(NUM_WORDS,)),
        keras.layers.Dense(16, activation="relu"),
        keras.layers.Dense(1, activation="sigmoid"),
    ]
)
baseline_model.compile(
    optimizer="adam", loss="binary_crossentropy", metrics=["accuracy", "binary_crossentropy"]
)
baseline_model.summary()
if "baseline" in MODELS:
    with timer("baseline"):
        baseline_history = baseline_model.fit(
            train_data,
            train_labels,
            epochs=EPOCHS,
            batch_size=512,
            validation_data=(test_data, test_labels),
            verbose=2,
        )
    histories["baseline"] = baseline_history.history

smaller_model = keras.Sequential(
    [
        keras.layers.Dense(4, activation="relu", input_shape=(NUM_WORDS,)),
        keras.layers.Dense(4, activation="relu"),
        keras.layers.Dense(1, activation="sigmoid"),
    ]
)
smaller_model.compile(
    optimizer="adam", loss="binary_crossentropy", metrics=["accuracy", "binary_crossentropy"]
)
smaller_model.summary()
if "smaller" in MODELS:
    with timer("smaller"):
        smaller_history = smaller_model.fit(
            train_data,
            train_labels,
            epochs=EPOCHS,
            batch_size=512,
            validation_data=(test_data, test_labels),
            verbose=2,
        )
    histories["smaller"] = smaller_history.history

bigger_model = keras.models.Sequential(
    [
        keras.layers.Dense(512, activation="relu", input_shape=(NUM_WORDS,)),
        keras.layers.Dense(512, activation="relu"),
        keras.layers.Dense(1, activation="sigmoid"),
    ]
)
bigger_model.compile(
    optimizer="adam", loss="binary_crossentropy", metrics=["accuracy", "binary_crossentropy"]
)
bigger_model.summary()
if "bigger" in MODELS:
    with timer("bigger"):
        bigger_history = bigger_model.fit(
            train_data,
            train_labels,
            epochs=EPOCHS,
            batch_size=512,
            validation_data=(test_data, test_labels),
            verbose=2,
        )
    histories["bigger"] = bigger_history.history

l2_model = keras.models.Sequential(
    [
        keras.layers.Dense(
            16,
            kernel_regularizer=keras.regularizers.l2(0.001),
            activation="relu",
            input_shape=(NUM_WORDS,),
        ),
        keras.layers.Dense(16, kernel_regularizer=keras.regularizers.l2(0.001), activation="relu"),
        keras.layers.Dense(1, activation="sigmoid"),
    ]
)
l2_model.compile(
    optimizer="adam", loss="binary_crossentropy", metrics=["accuracy", "binary_crossentropy"]
)
if "l2" in MODELS:
    with timer("l2"):
        l2_model_history = l2_model.fit(
            train_data,
            train_labels,
            epochs=EPOCHS,
            batch_size=512,
            validation_data=(test_data, test_labels),
            verbose=2,
        )
    histories["l2"] = l2_model_history.history

dpt_model = keras.models.Sequential(
    [
        keras.layers.Dense(16, activation="relu", input_shape=(NUM_WORDS,)),
        keras.layers.Dropout(0.5),
        keras.layers.Dense(16, activation="relu"),
        keras.layers.Dropout(0.5),
        keras.layers.Dense(1, activation="sigmoid"),
    ]
)
dpt_model.compile(
    optimizer="adam", loss="binary_crossentropy", metrics=["accuracy", "binary_crossentropy"]
)
if "dropout" in MODELS:
    with timer("dropout"):
        dpt_model_history = dpt_model.fit(
            train_data,
            train_labels,
            epochs=EPOCHS,
            batch_size=512,
            validation_data=(test_data, test_labels),
            verbose=2,
        )
    histories["dropout"] = dpt_model_history.history

emit(timer, histories)
