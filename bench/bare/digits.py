"""The small and large models of the MNIST underfitting article (seed 001) as written, on
sklearn's 8x8 digits: `python -m bench.bare.digits small|large`.

Deviations: sklearn's bundled digits (offline) in place of mnist.load_data(), scaled by their
maximum 16 as the article scales MNIST's pixels by 255; `import keras` (Keras 3, whose backend
KERAS_BACKEND picks) in place of `from tensorflow import keras`; the article runs both models in
one script, here an argument picks one; the epoch count can be lowered for smoke tests; the fit
call is timed and the script ends with the harness's JSON line; the plots are left out."""

import sys

import keras
from keras import layers
from sklearn.datasets import load_digits

from bench.bare.report import FitTimer, emit, epochs

size = sys.argv[1] if len(sys.argv) > 1 else "small"
digits = load_digits()
train_images, train_labels = digits.images, digits.target
train_images = train_images.reshape((len(train_images), 8 * 8))
train_images = train_images.astype("float32") / 16
if size == "small":
    model = keras.Sequential([layers.Dense(10, activation="softmax")])
else:
    model = keras.Sequential(
        [
            layers.Dense(128, activation="relu"),
            layers.Dense(128, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ]
    )
model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
timer = FitTimer()
with timer(f"digits_{size}"):
    history = model.fit(
        train_images, train_labels, epochs=epochs(20), batch_size=128, validation_split=0.2
    )
emit(timer, {f"digits_{size}": history.history})
