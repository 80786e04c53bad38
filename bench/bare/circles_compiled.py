"""The limit of the circles workload: the dropout article's overfit MLP (bench/bare/circles.py:
100 noisy circles, the first 30 train and the other 70 validate, Dense(500) for 4,000 epochs)
fitted by the very program fitq's compiled trainer runs (worker/training/compiled/program.py),
without fitq: no API, no queue, no database, no chunks, no per-chunk writes. Its fit time is
building the model (Keras's initializers compile on JAX), compiling the program, and one call
for all the epochs, each also timed on its own: the least a compiled fit of this model can
take here from a new model, as a fitq job's does. JAX only.

Data as fitq's worker feeds it: float32 rows, int32 labels shaped (n, 1)
(worker/training/datasets_sklearn.py, worker/training/targets.py); shuffled each epoch, in
batches of 32, from an unseeded draw (the bare script's fits are unseeded too)."""

import sys
import time

import keras
import numpy as np
from keras.layers import Dense
from keras.models import Sequential
from sklearn.datasets import make_circles

from bench.bare.report import FitTimer, emit, epochs

if keras.backend.backend() != "jax":
    sys.exit(
        f"bench.bare.circles_compiled runs fitq's compiled program, which is JAX's: run it with "
        f"KERAS_BACKEND=jax (Keras's backend here is {keras.backend.backend()})"
    )

# After the check: JAX alone would import on any backend, and the program would not run.
import jax
import jax.numpy as jnp

from worker.training.compiled import program
from worker.training.compiled.state import initial_state, metrics_reset

EPOCHS = epochs(4000)
BATCH_SIZE = 32

# generate 2d classification dataset
X, y = make_circles(n_samples=100, noise=0.1, random_state=1)
X, y = X.astype("float32"), y.astype("int32").reshape(-1, 1)
# split into train and test
n_train = 30
trainX, testX = X[:n_train, :], X[n_train:, :]
trainy, testy = y[:n_train], y[n_train:]
# fit model: build it (its initializers compile too), compile the program, one call for
# every epoch; all of it timed, as a fitq job does all of it (its build_seconds and fit)
timer = FitTimer()
with timer("circles"):
    started = time.perf_counter()
    model = Sequential()
    model.add(keras.Input(shape=(2,)))
    model.add(Dense(500, activation="relu"))
    model.add(Dense(1, activation="sigmoid"))
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    # variables, optimizer and metrics built as the compiled trainer builds them
    model._symbolic_build(data_batch=(trainX[:1], trainy[:1], None))
    layout = program.Layout(batch_size=BATCH_SIZE, shuffle=True, capacity=EPOCHS, stopping=None)
    seed = int(np.random.default_rng().integers(0, 2**31 - 1))
    args = (
        initial_state(model),
        (jnp.asarray(trainX), jnp.asarray(trainy)),
        (jnp.asarray(testX), jnp.asarray(testy)),
        metrics_reset(model),
        jnp.int32(0),
        jnp.int32(EPOCHS),
        jax.random.key(seed),
        None,
    )
    built = time.perf_counter()
    chunk = jax.jit(program.build(model, layout)).lower(*args).compile()
    compiled = time.perf_counter()
    state, _, buffers, ran = jax.block_until_ready(chunk(*args))
build_seconds, compile_seconds = built - started, compiled - built
ran = int(ran)
history = {name: np.asarray(values)[:ran].tolist() for name, values in buffers.items()}
if ran != EPOCHS:
    sys.exit(f"the program ran {ran} of {EPOCHS} epochs (a non-finite loss)")
print("Train: %.3f, Test: %.3f" % (history["accuracy"][-1], history["val_accuracy"][-1]))
extra = {"build_seconds": build_seconds, "compile_seconds": compile_seconds, "seed": seed}
emit(timer, {"circles": history}, extra)
