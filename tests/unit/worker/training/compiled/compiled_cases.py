"""The parity matrix of the compiled trainer: small specs over every kind of layer, loss and
metric fitq allows, with several batches and a partial last one. Data is drawn here, seeded;
the dataset in each spec is only there to make it a valid spec."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

Arrays = tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray] | None]
ALL_BINARY_METRICS = [
    "accuracy", "binary_accuracy", "binary_crossentropy", "auc", "precision", "recall",
    "mean_squared_error", "mean_absolute_error",
]  # fmt: skip


@dataclass(frozen=True)
class Case:
    spec: dict[str, Any]
    data: Callable[[], Arrays]
    chunk_seconds: float = 60.0  # 0: one epoch a call; 60: all epochs after the first in one
    # The multi-hot width when the rows are word indices (WordDense first), else None.
    vocabulary: int | None = None


def _spec(
    layers: list[dict],
    loss: str,
    metrics: list[str],
    optimizer: str = "adam",
    epochs: int = 6,
    batch_size: int = 16,
    validation_split: float | None = None,
) -> dict:
    fit: dict[str, Any] = {"epochs": epochs, "batch_size": batch_size, "shuffle": False}
    if validation_split is not None:
        fit["validation_split"] = validation_split
    # A dataset that holds nothing out when the fit splits, one that does when it does not.
    dataset: dict[str, Any] = {"name": "digits", "format": "flat"}
    if validation_split is None:
        dataset = {"name": "circles", "n_samples": 100, "random_state": 1, "n_train": 50}
    return {
        "dataset": dataset,
        "model": {"layers": layers},
        "compile": {"optimizer": optimizer, "loss": loss, "metrics": metrics},
        "fit": fit,
    }


def _stopping(spec: dict, epochs: int, **early_stopping: Any) -> dict:
    spec["fit"] |= {"epochs": epochs, "early_stopping": early_stopping}
    spec["compile"]["optimizer"] = {"name": "adam", "learning_rate": 0.05}
    return spec


def _rng() -> np.random.Generator:
    return np.random.default_rng(3)


def _binary(rows: int = 50, features: int = 4, validation: int = 0) -> Callable[[], Arrays]:
    def draw() -> Arrays:
        rng = _rng()
        x = rng.normal(size=(rows + validation, features)).astype("float32")
        y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype("int64")
        held = (x[rows:], y[rows:]) if validation else None
        return x[:rows], y[:rows], held

    return draw


def _classes(
    shape: tuple[int, ...], classes: int, rows: int = 40, one_hot: bool = False
) -> Callable[[], Arrays]:
    def draw() -> Arrays:
        rng = _rng()
        x = rng.normal(size=(rows, *shape)).astype("float32")
        y = (np.abs(x.reshape(rows, -1).sum(axis=1)) * 2).astype("int64") % classes
        return x, np.eye(classes, dtype="float32")[y] if one_hot else y, None

    return draw


def _regression(shape: tuple[int, ...], rows: int = 40) -> Callable[[], Arrays]:
    def draw() -> Arrays:
        rng = _rng()
        x = rng.normal(size=(rows, *shape)).astype("float32")
        y = np.tanh(x.reshape(rows, -1).mean(axis=1)).astype("float32")
        return x, y, None

    return draw


def _words(rows: int = 40, length: int = 7, vocabulary: int = 20) -> Callable[[], Arrays]:
    def draw() -> Arrays:
        rng = _rng()
        x = rng.integers(0, vocabulary, size=(rows, length)).astype("float32")
        y = (x[:, 0] > vocabulary / 2).astype("int64")
        return x, y, None

    return draw


def _word_rows(rows: int = 50, vocabulary: int = 60) -> Callable[[], Arrays]:
    """Multi-hot rows as WordDense takes them: each row's distinct words ascending, -1 after."""

    def draw() -> Arrays:
        rng = _rng()
        counts = rng.integers(1, 12, size=rows)
        x = np.full((rows, int(counts.max())), -1, dtype=np.int32)
        for row, count in enumerate(counts):
            x[row, :count] = np.sort(rng.choice(vocabulary, size=count, replace=False))
        y = (np.where(x >= 0, x, 0).sum(axis=1) % 2).astype("int64")
        return x, y, None

    return draw


def _dense(units: int, **extra: Any) -> dict:
    return {"type": "Dense", "units": units, **extra}


CASES: dict[str, Case] = {
    "dense_l1_l2_max_norm_binary_metrics": Case(
        _spec(
            [
                _dense(
                    16,
                    activation="relu",
                    kernel_regularizer={"l1": 0.01},
                    bias_regularizer={"l2": 0.01},
                    activity_regularizer={"l2": 0.001},
                ),
                _dense(
                    8,
                    activation="relu",
                    kernel_regularizer={"l1": 0.001, "l2": 0.01},
                    kernel_constraint={"max_norm": 0.5},
                ),
                _dense(1, activation="sigmoid"),
            ],
            "binary_crossentropy",
            ALL_BINARY_METRICS,
            validation_split=0.2,
        ),
        _binary(),
        chunk_seconds=0.0,
    ),
    "dropout_held_out_validation": Case(
        _spec(
            [
                _dense(32, activation="relu"),
                {"type": "Dropout", "rate": 0.5},
                _dense(1, activation="sigmoid"),
            ],
            "binary_crossentropy",
            ["accuracy"],
            batch_size=8,
        ),
        _binary(validation=30),
    ),
    "batch_normalization_sparse": Case(
        _spec(
            [_dense(16), {"type": "BatchNormalization"}, _dense(3, activation="softmax")],
            "sparse_categorical_crossentropy",
            ["sparse_categorical_accuracy", "accuracy", "sparse_categorical_crossentropy"],
            optimizer="rmsprop",
            validation_split=0.25,
        ),
        _classes((5,), 3),
    ),
    "conv1d_pooling_categorical": Case(
        _spec(
            [
                {"type": "Conv1D", "filters": 4, "kernel_size": 3, "activation": "relu"},
                {"type": "MaxPooling1D"},
                {"type": "Flatten"},
                _dense(3, activation="softmax"),
            ],
            "categorical_crossentropy",
            ["categorical_accuracy", "categorical_crossentropy"],
            optimizer="sgd",
            validation_split=0.25,
        ),
        _classes((12, 2), 3),
        chunk_seconds=0.0,
    ),
    "conv2d_pooling_spatial_dropout": Case(
        _spec(
            [
                {
                    "type": "Conv2D",
                    "filters": 4,
                    "kernel_size": [3, 3],
                    "activation": "relu",
                    "padding": "same",
                },
                {"type": "MaxPooling2D"},
                {"type": "SpatialDropout2D", "rate": 0.3},
                {"type": "GlobalAveragePooling2D"},
                _dense(2, activation="softmax"),
            ],
            "sparse_categorical_crossentropy",
            ["accuracy"],
            optimizer="adamax",
            validation_split=0.25,
        ),
        _classes((8, 8, 1), 2),
    ),
    "lstm_regression": Case(
        _spec(
            [{"type": "LSTM", "units": 8}, _dense(1)],
            "mean_squared_error",
            ["mean_absolute_error", "mean_squared_error"],
            optimizer="adamw",
            validation_split=0.25,
        ),
        _regression((6, 3)),
    ),
    "embedding_gru_recurrent_dropout": Case(
        _spec(
            [
                {"type": "Embedding", "input_dim": 20, "output_dim": 4},
                {"type": "GRU", "units": 6, "dropout": 0.2, "recurrent_dropout": 0.2},
                _dense(1, activation="sigmoid"),
            ],
            "binary_crossentropy",
            ["accuracy"],
            optimizer="nadam",
            validation_split=0.25,
        ),
        _words(),
    ),
    "huber_mean_absolute_error": Case(
        _spec(
            [_dense(8, activation="tanh"), _dense(1)],
            "huber",
            ["mean_absolute_error"],
            optimizer="adagrad",
            validation_split=0.25,
        ),
        _regression((3,)),
    ),
    "mean_absolute_error_loss": Case(
        _spec(
            [_dense(8, activation="relu"), _dense(1)],
            "mean_absolute_error",
            ["mean_squared_error"],
            optimizer="adadelta",
            validation_split=0.25,
        ),
        _regression((3,)),
    ),
    "hinge": Case(
        _spec(
            [_dense(8, activation="relu"), _dense(1, activation="tanh")],
            "hinge",
            ["binary_accuracy"],
            validation_split=0.25,
        ),
        _binary(),
    ),
    "kl_divergence": Case(
        _spec(
            [_dense(8, activation="relu"), _dense(3, activation="softmax")],
            "kl_divergence",
            ["categorical_accuracy"],
            validation_split=0.25,
        ),
        _classes((4,), 3, one_hot=True),
    ),
    "early_stopping_restores_best_weights": Case(
        _stopping(
            _spec(
                [_dense(64, activation="relu"), _dense(1, activation="sigmoid")],
                "binary_crossentropy",
                ["accuracy"],
                batch_size=8,
            ),
            60,
            monitor="val_loss",
            patience=3,
            restore_best_weights=True,
        ),
        _binary(rows=30, features=6, validation=40),
        chunk_seconds=0.0,
    ),
    "early_stopping_accuracy_min_delta_warm_up": Case(
        _stopping(
            _spec(
                [_dense(32, activation="relu"), _dense(1, activation="sigmoid")],
                "binary_crossentropy",
                ["accuracy"],
                batch_size=8,
            ),
            80,
            monitor="val_accuracy",
            min_delta=0.01,
            patience=4,
            start_from_epoch=5,
        ),
        _binary(rows=30, features=6, validation=40),
    ),
    "early_stopping_training_loss_last_weights": Case(
        _stopping(
            _spec(
                [_dense(16, activation="relu"), _dense(1, activation="sigmoid")],
                "binary_crossentropy",
                [],
                validation_split=0.25,
            ),
            80,
            monitor="loss",
            min_delta=0.02,
            patience=1,
        ),
        _binary(),
    ),
    "multi_hot_word_indices": Case(
        _spec(
            [
                _dense(16, activation="relu", kernel_regularizer={"l2": 0.01}),
                _dense(1, activation="sigmoid"),
            ],
            "binary_crossentropy",
            ["accuracy"],
            validation_split=0.2,
        ),
        _word_rows(),
        vocabulary=60,
    ),
}
