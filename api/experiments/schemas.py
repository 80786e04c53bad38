"""Request and response models of /experiments. Never named like the ORM classes in
models/tables.py."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.core.pages import Page, page_config
from models.spec import ExperimentSpec
from models.tables import ExperimentStatus

CIRCLES_EXAMPLE: dict[str, Any] = {
    "name": "circles-dropout",
    "tags": ["dropout"],
    "dataset": {
        "name": "circles",
        "n_samples": 100,
        "noise": 0.1,
        "random_state": 1,
        "n_train": 30,
    },
    "model": {
        "layers": [
            {"type": "Dense", "units": 500, "activation": "relu"},
            {"type": "Dropout", "rate": 0.4},
            {"type": "Dense", "units": 1, "activation": "sigmoid"},
        ]
    },
    "compile": {"optimizer": "adam", "loss": "binary_crossentropy", "metrics": ["accuracy"]},
    "fit": {"epochs": 200, "batch_size": 32},
}

# The circles example, fitted for up to 2,000 epochs and stopped when val_loss stops falling.
EARLY_STOPPING_EXAMPLE: dict[str, Any] = CIRCLES_EXAMPLE | {
    "name": "circles-early-stopping",
    "tags": [],
    "fit": {
        "epochs": 2000,
        "batch_size": 32,
        "early_stopping": {"monitor": "val_loss", "patience": 5, "restore_best_weights": True},
    },
}


class ExperimentCreate(ExperimentSpec):
    """An experiment spec: dataset, model layers, compile and fit settings."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [CIRCLES_EXAMPLE, EARLY_STOPPING_EXAMPLE]}
    )


class ExperimentTimings(BaseModel):
    """Where the worker's time went in the attempt that finished the experiment."""

    load_seconds: float = Field(description="Loading and preparing the dataset (0 on a cache hit)")
    build_seconds: float = Field(description="Building and compiling the model, and resuming")
    fit_seconds: float = Field(description="Keras fit, with fitq's per-epoch recording")
    recording_seconds: float | None = Field(
        default=None,
        description="fitq's own share of fit_seconds: the epoch writes and checkpoints the fit "
        "waits for, and the CPU time of its background thread's heartbeats and writes",
    )
    first_epoch_at: datetime | None = Field(description="When the first epoch of it ended")
    max_rss_bytes: int = Field(description="The worker process's peak memory so far")


class ExperimentTrainer(BaseModel):
    """How the worker fitted it (docs/compiled-trainer.md)."""

    name: Literal["compiled", "fit"] = Field(
        description="compiled: chunks of epochs as one compiled JAX program; fit: Keras's model.fit"
    )
    compile_seconds: float | None = Field(
        default=None, description="Getting the program ready (compiled; 0 when reused)"
    )
    program: Literal["compiled", "reused", "disk cache"] | None = Field(
        default=None,
        description="compiled: by XLA for this job; reused: the worker's own, from an earlier "
        "job of the same architecture, shapes and batch size; disk cache: loaded from JAX's "
        "persistent compilation cache (FITQ_COMPILATION_CACHE_DIR)",
    )
    fallback: str | None = Field(
        default=None, description="Why the compiled trainer did not run it (fit on JAX)"
    )
    packed: list[int] | None = Field(
        default=None,
        description="The study's repeats (experiment ids, this one included) trained as one "
        "vectorised program with it; null when it trained alone",
    )


class ExperimentRead(BaseModel):
    id: int
    name: str | None
    tags: list[str]
    status: ExperimentStatus
    current_epoch: int = Field(description="Epochs finished so far")
    epochs_total: int
    latest_metrics: dict[str, float | None] | None = Field(
        description="Metrics of the last finished epoch"
    )
    test_metrics: dict[str, float | None] | None = Field(
        default=None, description="Held-out test evaluation after fit (dataset test_split)"
    )
    error: str | None = Field(description="Why it failed, when it failed")
    stopped_epoch: int | None = Field(
        default=None,
        description="The last epoch run, when fit.early_stopping ended the fit before "
        "epochs_total; null when every epoch ran (or the fit was cancelled or failed)",
    )
    stop_reason: str | None = Field(
        default=None,
        description="Why early stopping ended the fit: the monitor, its best value and epoch, "
        "and whether the best weights were restored",
    )
    cancel_requested: bool
    notes: str | None = Field(default=None, description="Free text kept with it (PATCH)")
    attempts: int = Field(
        default=0,
        description="Times a worker claimed it; above 1 it was resumed after a worker was lost",
    )
    backend: str | None = Field(
        default=None, description="The Keras backend that ran it (jax, tensorflow or torch)"
    )
    timings: ExperimentTimings | None = Field(
        default=None, description="Set when it finishes, from the worker's own clock"
    )
    versions: dict[str, str] | None = Field(
        default=None,
        description="What ran it, set when a worker starts it (by its last attempt's worker "
        "after a resume): fitq, python, numpy, keras, backend, and the backend's own "
        "packages (jax and jaxlib, tensorflow or torch). A seeded run repeats its history "
        "only on the same backend with the same versions",
    )
    trainer: ExperimentTrainer | None = Field(
        default=None, description="Set when a worker starts fitting it (by its last attempt)"
    )
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    spec: dict[str, Any]

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 1, "name": "circles-dropout", "tags": ["dropout"], "status": "running",
                    "current_epoch": 12, "epochs_total": 200,
                    "latest_metrics": {"loss": 0.61, "accuracy": 0.7, "val_loss": 0.65,
                                       "val_accuracy": 0.66},
                    "test_metrics": None, "error": None, "stopped_epoch": None,
                    "stop_reason": None,
                    "cancel_requested": False, "notes": None, "attempts": 1, "backend": None,
                    "timings": None,
                    "versions": {"fitq": "0.1.0", "python": "3.11.7", "numpy": "2.4.6",
                                 "keras": "3.15.1", "backend": "jax", "jax": "0.10.2",
                                 "jaxlib": "0.10.2"},
                    "trainer": {"name": "compiled", "compile_seconds": 0.84,
                                "program": "compiled"},
                    "created_at": "2026-11-22T20:00:00Z", "started_at": "2026-11-22T20:00:01Z",
                    "finished_at": None, "spec": CIRCLES_EXAMPLE,
                },
                {
                    "id": 2, "name": "circles-early-stopping", "tags": [], "status": "succeeded",
                    "current_epoch": 57, "epochs_total": 2000,
                    "latest_metrics": {"loss": 0.05, "accuracy": 1.0, "val_loss": 0.31,
                                       "val_accuracy": 0.89},
                    "test_metrics": None, "error": None, "stopped_epoch": 57,
                    "stop_reason": "early stopping: val_loss did not improve by more than 0 "
                    "for 5 epochs after its best value 0.2871 at epoch 52; best weights restored",
                    "cancel_requested": False, "notes": None, "attempts": 1, "backend": "jax",
                    "timings": {"load_seconds": 0.01, "build_seconds": 0.05,
                                "fit_seconds": 0.61, "recording_seconds": 0.004,
                                "first_epoch_at": "2026-11-22T20:00:01Z",
                                "max_rss_bytes": 912_000_000},
                    "versions": {"fitq": "0.1.0", "python": "3.11.7", "numpy": "2.4.6",
                                 "keras": "3.15.1", "backend": "jax", "jax": "0.10.2",
                                 "jaxlib": "0.10.2"},
                    "trainer": {"name": "compiled", "compile_seconds": 0.84,
                                "program": "compiled"},
                    "created_at": "2026-11-22T20:00:00Z", "started_at": "2026-11-22T20:00:01Z",
                    "finished_at": "2026-11-22T20:00:09Z", "spec": EARLY_STOPPING_EXAMPLE,
                },
            ]
        }
    )  # fmt: skip


class ExperimentPage(Page[ExperimentRead]):
    """A page of experiments, newest first."""

    model_config = page_config()


class EpochRow(BaseModel):
    """One finished epoch: `epoch` (from 1) and every metric Keras logged, by its name."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "additionalProperties": {"type": ["number", "null"]},
            "examples": [{"epoch": 1, "loss": 0.69, "accuracy": 0.53, "val_loss": 0.68,
                          "val_accuracy": 0.57}],
        },
    )  # fmt: skip

    epoch: int


class LayerSummary(BaseModel):
    name: str
    type: str
    output_shape: list[int | None]
    params: int


class ModelSummaryRead(BaseModel):
    """What model.summary() shows, plus a training-memory estimate."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "input_shape": [None, 2],
                    "layers": [
                        {"name": n, "type": t, "output_shape": [None, u], "params": p}
                        for n, t, u, p in (
                            ("dense", "Dense", 500, 1500),
                            ("dropout", "Dropout", 500, 0),
                            ("dense_1", "Dense", 1, 501),
                        )
                    ],
                    "total_params": 2001, "trainable_params": 2001, "non_trainable_params": 0,
                    "estimated_memory_bytes": 160000,
                }
            ]
        }
    )  # fmt: skip

    input_shape: list[int | None]
    layers: list[LayerSummary]
    total_params: int
    trainable_params: int
    non_trainable_params: int
    estimated_memory_bytes: int = Field(
        description="Weights, gradients, optimizer slots and one batch of activations"
    )
