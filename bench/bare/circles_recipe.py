"""The regularization recipe (POST /recipes/regularization) on the dropout article's circles,
as a notebook would write it: the IMDB notebook's five models (baseline 16-16, smaller 4-4,
bigger 512-512, L2 0.001 and dropout 0.5 on 16-16), each ending in Dense(1, sigmoid), on 100
noisy circles whose first 30 train and other 70 validate; adam, binary_crossentropy, batch 32,
300 epochs, one after the other.

Deviations: labels shaped (n, 1) (Keras 3 raises a rank error for the 'binary_crossentropy'
metric on 1-D labels; fitq shapes them the same way, worker/training/targets.py); the epoch
count can be lowered for smoke tests; fit calls are timed and the script ends with the
harness's JSON line; the plots are left out."""

from typing import Any

import keras
from sklearn.datasets import make_circles

from bench.bare.report import FitTimer, emit, epochs

EPOCHS = epochs(300)
histories: dict[str, Any] = {}
timer = FitTimer()

X, y = make_circles(n_samples=100, noise=0.1, random_state=1)
y = y.reshape(-1, 1)  # Deviation: see above.
n_train = 30
trainX, testX = X[:n_train, :], X[n_train:, :]
trainy, testy = y[:n_train], y[n_train:]

baseline_model = keras.Sequential(
    [
        keras.Input(shape=(2,)),
        keras.layers.Dense(16, activation="relu"),
        keras.layers.Dense(16, activation="relu"),
        keras.layers.Dense(1, activation="sigmoid"),
    ]
)
baseline_model.compile(
    optimizer="adam", loss="binary_crossentropy", metrics=["accuracy", "binary_crossentropy"]
)
with timer("baseline"):
    baseline_history = baseline_model.fit(
        trainX,
        trainy,
        epochs=EPOCHS,
        batch_size=32,
        validation_data=(testX, testy),
        verbose=0,
    )
histories["baseline"] = baseline_history.history

smaller_model = keras.Sequential(
    [
        keras.Input(shape=(2,)),
        keras.layers.Dense(4, activation="relu"),
        keras.layers.Dense(4, activation="relu"),
        keras.layers.Dense(1, activation="sigmoid"),
    ]
)
smaller_model.compile(
    optimizer="adam", loss="binary_crossentropy", metrics=["accuracy", "binary_crossentropy"]
)
with timer("smaller"):
    smaller_history = smaller_model.fit(
        trainX,
        trainy,
        epochs=EPOCHS,
        batch_size=32,
        validation_data=(testX, testy),
        verbose=0,
    )
histories["smaller"] = smaller_history.history

bigger_model = keras.Sequential(
    [
        keras.Input(shape=(2,)),
        keras.layers.Dense(512, activation="relu"),
        keras.layers.Dense(512, activation="relu"),
        keras.layers.Dense(1, activation="sigmoid"),
    ]
)
bigger_model.compile(
    optimizer="adam", loss="binary_crossentropy", metrics=["accuracy", "binary_crossentropy"]
)
with timer("bigger"):
    bigger_history = bigger_model.fit(
        trainX,
        trainy,
        epochs=EPOCHS,
        batch_size=32,
        validation_data=(testX, testy),
        verbose=0,
    )
histories["bigger"] = bigger_history.history

l2_model = keras.Sequential(
    [
        keras.Input(shape=(2,)),
        keras.layers.Dense(16, kernel_regularizer=keras.regularizers.l2(0.001), activation="relu"),
        keras.layers.Dense(16, kernel_regularizer=keras.regularizers.l2(0.001), activation="relu"),
        keras.layers.Dense(1, activation="sigmoid"),
    ]
)
l2_model.compile(
    optimizer="adam", loss="binary_crossentropy", metrics=["accuracy", "binary_crossentropy"]
)
with timer("l2"):
    l2_history = l2_model.fit(
        trainX,
        trainy,
        epochs=EPOCHS,
        batch_size=32,
        validation_data=(testX, testy),
        verbose=0,
    )
histories["l2"] = l2_history.history

dpt_model = keras.Sequential(
    [
        keras.Input(shape=(2,)),
        keras.layers.Dense(16, activation="relu"),
        keras.layers.Dropout(0.5),
        keras.layers.Dense(16, activation="relu"),
        keras.layers.Dropout(0.5),
        keras.layers.Dense(1, activation="sigmoid"),
    ]
)
dpt_model.compile(
    optimizer="adam", loss="binary_crossentropy", metrics=["accuracy", "binary_crossentropy"]
)
with timer("dropout"):
    dpt_history = dpt_model.fit(
        trainX,
        trainy,
        epochs=EPOCHS,
        batch_size=32,
        validation_data=(testX, testy),
        verbose=0,
    )
histories["dropout"] = dpt_history.history

emit(timer, histories)
