"""A fit on JAX whose cancel the writer's Pulse thread finds while a validation step is in
flight (see EpochWriter). Prints what the writer saw and the fit's error, if any, as JSON. A
process of its own because Keras picks its backend once, at import."""

import json
import os
import sys
import time
from typing import Any

os.environ["KERAS_BACKEND"] = "jax"

import keras
import numpy as np
from sqlalchemy import update

from models.db import session_scope
from models.tables import Experiment
from worker.training.callbacks import EpochWriter


class CancelInValidation(keras.callbacks.Callback):
    """From epoch 2, the first validation step sets the cancel flag once it has been dispatched
    (its input buffers donated, its output not yet the model's state), then holds until the
    writer's Pulse thread has seen the flag. A real step is in that state for microseconds;
    the hold makes the Pulse land there every time instead of now and then."""

    def __init__(self, writer: EpochWriter) -> None:
        super().__init__()
        self.writer = writer

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if epoch != 0:
            return
        model = self.model
        step = model.test_function

        def held(state: Any, data: Any) -> Any:
            model.test_function = step  # once
            out = step(state, data)
            with session_scope() as session:
                session.execute(update(Experiment).values(cancel_requested=True))
            deadline = time.monotonic() + 10
            while self.writer.stop_reason is None and time.monotonic() < deadline:
                time.sleep(0.001)
            return out

        model.test_function = held


def main(experiment_id: int) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 2)).astype("float32")
    y = (x[:, 0] > 0).astype("float32")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    writer = EpochWriter(experiment_id, flush_seconds=3600, check_seconds=0.002)
    error = None
    try:
        model.fit(
            x[:64],
            y[:64],
            validation_data=(x[64:], y[64:]),  # two validation steps of 16
            epochs=20,
            batch_size=16,
            callbacks=[writer, CancelInValidation(writer)],
            verbose=0,
        )
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
    print(json.dumps({"stop_reason": writer.stop_reason, "error": error}))


if __name__ == "__main__":
    main(int(sys.argv[1]))
