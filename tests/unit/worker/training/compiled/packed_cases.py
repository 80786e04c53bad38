"""The packed parity cases (packed_parity_child.py runs them, test_packed_parity.py checks
them): Keras-free, so the test process imports them without choosing a Keras backend."""

from typing import Any

SEEDS = [0, 1, 2, 3]
CANCELLED_SEED, CANCELLED_AT = 1, 3
RESUMED_SEED, RESUMED_AT = 2, 10  # a lane resumed from its checkpoint, the others from 0
SHUTDOWN_AT = 4  # a warm shutdown asked for while the first lane writes this epoch
# Dense + Dropout on the circles with held-out validation and early stopping, where these
# seeds stop at different epochs (18, 6, 27 and 14 here).
SPEC: dict[str, Any] = {
    "dataset": {"name": "circles", "n_samples": 100, "noise": 0.1, "random_state": 1,
                "n_train": 60},
    "model": {"layers": [{"type": "Dense", "units": 64, "activation": "relu"},
                         {"type": "Dropout", "rate": 0.3},
                         {"type": "Dense", "units": 1, "activation": "sigmoid"}]},
    "compile": {"optimizer": {"name": "adam", "learning_rate": 0.03},
                "loss": "binary_crossentropy", "metrics": ["accuracy"]},
    "fit": {"epochs": 200, "batch_size": 8,
            "early_stopping": {"monitor": "val_loss", "patience": 5,
                               "restore_best_weights": True}},
}  # fmt: skip
