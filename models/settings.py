"""The one Settings class. Each variable is documented in docs/configuration.md and .env.example."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

EMBEDDED_DIR = Path("var")


class Settings(BaseSettings):
    """Read from FITQ_* environment variables (and a .env file if present)."""

    model_config = SettingsConfigDict(env_prefix="FITQ_", env_file=".env", extra="ignore")

    # "embedded": SQLite and a serverless broker under data_dir, for one-command local runs.
    # "production": database_url and broker_url must be given explicitly.
    mode: Literal["embedded", "production"] = "embedded"
    data_dir: Path = EMBEDDED_DIR
    database_url: str = ""
    broker_url: str = ""
    # Celery result store, used only by dry runs (training results live in SQL). Embedded
    # default: a folder under data_dir; production default: the broker when it is Redis.
    result_backend: str = ""
    training_queue: str = "training"
    # Dry runs build the model where Keras lives: a dedicated queue so they never wait
    # behind long fits, answered within validate_timeout_seconds or refused with 503.
    validate_queue: str = "validate"
    validate_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    # How often a running job's background thread beats and reads the cancel flag (seconds);
    # a cancel or a lost claim stops the fit after at most one more batch.
    cancel_check_seconds: float = Field(default=2.0, gt=0, le=60)
    # Jobs a worker process runs at once; one per process keeps a GPU to one fit.
    worker_concurrency: int = Field(default=1, ge=1, le=64)
    # Jobs each GPU runs at once under `fitq worker --gpus` (its worker's pool processes);
    # they split the GPU's memory (api/gpu_workers.py).
    jobs_per_gpu: int = Field(default=1, ge=1, le=64)
    # Seconds a new pool process may take to report it is up before Celery kills it and starts
    # another (Celery's default is 4). Keras warms up after the report, so this only bounds
    # the fork and Celery's own start-up, which a busy machine can slow down.
    worker_proc_alive_timeout_seconds: float = Field(default=30.0, gt=0, le=3600)
    # Longest a job may run; the broker's visibility timeout is set past it.
    job_time_limit_seconds: int = Field(default=24 * 3600, ge=60)
    # Preprocessed datasets a worker process keeps in memory for the next job (0 turns it off).
    dataset_cache_bytes: int = Field(default=2 * 1024**3, ge=0)
    max_error_chars: int = Field(default=2000, ge=200)
    # PNG plots each API process keeps, keyed by what they show (the experiments' last
    # recorded epochs and the plot's parameters), so a repeated plot is not drawn again.
    plot_cache_bytes: int = Field(default=64 * 1024**2, ge=0)
    # Metric series (epochs and values) each API process keeps for downsampled histories and
    # plots: a later request reads only the epochs recorded since. A 100,000-epoch series
    # takes 1.6 MB.
    series_cache_bytes: int = Field(default=64 * 1024**2, ge=0)
    # Largest uploaded dataset file (bytes); an NPZ may not unpack to more than this either.
    # The API stops reading a request as soon as it passes the limit.
    max_upload_bytes: int = Field(default=100 * 1024**2, ge=1024, le=64 * 1024**3)
    # Most samples a dataset may hold, test split included: an upload's rows, a generated
    # dataset's n_samples.
    max_dataset_rows: int = Field(default=5_000_000, ge=1, le=2**31 - 1)
    # Most numbers per sample of an upload (a CSV's columns but the label, the product of an
    # NPZ's x shape but the first axis): checked before a wider row or array is read.
    max_features: int = Field(default=100_000, ge=1, le=100_000_000)
    # Most experiments one study may create (variants x grid points x repeats); a study is
    # created in one transaction, so this bounds that transaction and the queue it fills.
    max_study_experiments: int = Field(default=200, ge=1, le=10_000)
    # Most parameters a submitted model may have (counted as Keras counts them); more is a 422.
    max_parameters: int = Field(default=10_000_000, ge=1, le=2**40)
    # Largest estimated training memory (bytes) of a submitted spec: weights, gradients,
    # optimizer slots and one batch of activations, as the dry run reports it; more is a 422.
    max_memory_bytes: int = Field(default=8 * 1024**3, ge=1024**2, le=2**50)
    # Most epochs a spec may ask for (the spec itself allows up to 100,000).
    max_epochs: int = Field(default=100_000, ge=1, le=100_000)
    # Largest batch size a spec may ask for (the spec itself allows up to 65,536).
    max_batch_size: int = Field(default=65_536, ge=1, le=65_536)
    # Largest JSON request body (bytes); a bigger one is a 413 before it is read to the end.
    # Dataset uploads have their own limit, FITQ_MAX_UPLOAD_BYTES.
    max_request_bytes: int = Field(default=1024**2, ge=1024, le=1024**3)
    # A running job whose heartbeat is older than this is presumed dead: a new claim may take
    # it over (resuming from its checkpoint). Must stay well above cancel_check_seconds, the
    # heartbeat period (checked below).
    heartbeat_timeout_seconds: float = Field(default=60.0, gt=0, le=24 * 3600)
    # Claims a job may have (deliveries that started it); past this it fails, so a job that
    # kills its worker every time cannot loop forever.
    max_attempts: int = Field(default=3, ge=1, le=100)
    # How often each training worker's reconciler looks for lost or stale jobs (seconds).
    reconcile_interval_seconds: float = Field(default=30.0, gt=0, le=3600)
    # The reconciler re-sends a queued job whose message the broker lost (worker/broker_queue.py).
    # A message a worker took this long ago and neither started nor acknowledged no longer
    # counts as held (its worker died). Duplicates are harmless.
    queued_timeout_seconds: float = Field(default=600.0, gt=0, le=7 * 24 * 3600)
    # How long an Idempotency-Key is remembered (hours): a retry within it gets what the first
    # request made; after it the key names a new request, and the reconciler deletes it.
    idempotency_key_hours: float = Field(default=24.0, gt=0, le=24 * 365)
    # Where checkpoints and final models are kept. Empty: data_dir/artifacts.
    artifacts_dir: Path | None = None
    # Where uploads, checkpoints and final models live (models/store/): "local", a folder
    # (artifacts_dir); "database", chunked rows in the SQL database, so hosts share nothing
    # but it and the broker; "s3", an S3-compatible bucket. Unset: local in embedded mode,
    # database in production.
    artifact_store: Literal["local", "database", "s3"] | None = None
    # The "s3" store: the bucket, an endpoint for S3-compatible servers (empty: AWS's), the
    # region, and credentials (empty: the usual AWS_* environment variables).
    s3_bucket: str = ""
    s3_endpoint: str = ""
    s3_region: str = ""
    s3_access_key_id: str = ""
    s3_secret_access_key: SecretStr = SecretStr("")
    # Seconds between two checkpoints of a running fit (one is also written when the fit
    # stops): a reclaimed job redoes at most this much plus one epoch, however long a save
    # takes. 0 checkpoints after every epoch, whatever it costs.
    checkpoint_every_seconds: float = Field(default=30.0, ge=0, le=24 * 3600)
    # Most seconds a finished epoch waits in the worker before it is written to SQL (and so
    # readable). The job's background thread writes epochs in batches, one transaction a
    # second instead of one an epoch, and the fit does not wait for it (EpochWriter). 0: the
    # fit itself writes every epoch as it ends, and waits for each write.
    history_flush_seconds: float = Field(default=1.0, ge=0, le=60)
    # The Keras 3 backend of worker processes (sets KERAS_BACKEND before Keras is imported).
    # JAX by default: on a 2-core CPU it fits the circles model ~16x faster than TensorFlow
    # per epoch and imports faster (BENCHMARKS.md). "torch" needs `pip install torch`.
    keras_backend: Literal["jax", "tensorflow", "torch"] = "jax"
    # Which trainer runs a fit. "auto": on JAX, the compiled trainer (a chunk of epochs as one
    # compiled program, docs/compiled-trainer.md) wherever it can, model.fit elsewhere;
    # "fit": model.fit everywhere.
    trainer: Literal["auto", "fit"] = "auto"
    # The compiled trainer keeps a job's arrays on the device: larger data goes to model.fit.
    compiled_max_data_bytes: int = Field(default=1024**3, ge=0)
    # Most repeats of one study variant (specs alike but for fit.seed) a worker trains as one
    # vectorised program on JAX, each still its own job (docs/compiled-trainer.md, "Packed
    # repeats"). 1: every repeat alone.
    pack_repeats: int = Field(default=8, ge=1, le=64)
    # JAX's persistent compilation cache, so a restarted worker does not compile again.
    # Empty: data_dir/compilation-cache.
    compilation_cache_dir: Path | None = None
    # Keep a finished experiment's checkpoints (its final model is always kept).
    keep_checkpoints: bool = False
    log_level: str = "INFO"
    # "json": every log line of the API, the workers and `fitq run` is one JSON object (time,
    # level, logger, message, exception) for a log collector; "text": lines for people.
    log_format: Literal["text", "json"] = "text"
    # Prometheus metrics (docs/operations.md#metrics). Each process group (the API's uvicorn
    # processes, a worker's pool processes) writes its numbers to a folder of its own under
    # this one, which the process serving them adds up; a local disk, not a shared one.
    # Empty: data_dir/metrics.
    metrics_dir: Path | None = None
    # Who may read the API's GET /metrics: "public" (no key, as /healthz), "key" (an API key,
    # as every other route) or "off" (404). It shows counts, never ids or owners.
    metrics_access: Literal["public", "key", "off"] = "public"
    # Port a training worker serves its metrics on (the Celery main process, adding up its
    # pool processes); 0: none.
    worker_metrics_port: int = Field(default=9808, ge=0, le=65535)
    worker_metrics_host: str = "0.0.0.0"
    # "required": every request but /healthz and the docs needs `Authorization: Bearer <key>`
    # (keys from `fitq create-key OWNER`) and sees only its owner's rows. "disabled": no keys,
    # every request acts as owner "local"; only for one-user local runs (`fitq run` sets it).
    auth: Literal["required", "disabled"] = "required"
    # Keras's dataset cache folder (mnist.npz, imdb.npz, ...). Unset: $KERAS_HOME/datasets or
    # ~/.keras/datasets, where keras.utils.get_file puts them, so existing caches are reused.
    keras_datasets_dir: Path | None = None
    # Whether a keras dataset missing from that folder may be downloaded into it; off for
    # workers without internet, so a missing file fails at once instead of waiting on a socket.
    dataset_downloads: bool = True

    @field_validator(
        "keras_datasets_dir", "artifacts_dir", "compilation_cache_dir", "artifact_store",
        "metrics_dir", mode="before",
    )  # fmt: skip
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # .env.example lists FITQ_KERAS_DATASETS_DIR= empty; that must not mean Path(".").
        return None if value == "" else value

    @model_validator(mode="after")
    def _heartbeat_outlives_checks(self) -> "Settings":
        # Three missed heartbeats before a live job could be taken for dead.
        if self.heartbeat_timeout_seconds < 3 * self.cancel_check_seconds:
            raise ValueError(
                "FITQ_HEARTBEAT_TIMEOUT_SECONDS must be at least 3 x FITQ_CANCEL_CHECK_SECONDS"
            )
        return self

    @model_validator(mode="after")
    def _choose_artifact_store(self) -> "Settings":
        # Embedded runs keep one folder; a cluster's hosts share no disk, only the database.
        if self.artifact_store is None:
            self.artifact_store = "database" if self.mode == "production" else "local"
        if self.artifact_store == "s3" and not self.s3_bucket:
            raise ValueError("FITQ_ARTIFACT_STORE=s3 needs FITQ_S3_BUCKET")
        return self

    @model_validator(mode="after")
    def _fill_embedded_defaults(self) -> "Settings":
        if self.mode == "production":
            missing = [n for n in ("database_url", "broker_url") if not getattr(self, n)]
            if missing:
                names = ", ".join(f"FITQ_{n.upper()}" for n in missing)
                raise ValueError(f"production mode needs {names}; no defaults outside embedded")
            if not self.result_backend and self.broker_url.startswith(("redis://", "rediss://")):
                self.result_backend = self.broker_url
            return self
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'fitq.db'}"
        if not self.broker_url:
            self.broker_url = "filesystem://"
        if not self.result_backend:
            self.result_backend = f"file://{(self.data_dir / 'results').resolve()}"
        return self

    @property
    def artifacts_path(self) -> Path:
        return self.artifacts_dir or self.data_dir / "artifacts"

    @property
    def compilation_cache_path(self) -> Path:
        return self.compilation_cache_dir or self.data_dir / "compilation-cache"

    @property
    def metrics_path(self) -> Path:
        return self.metrics_dir or self.data_dir / "metrics"

    @property
    def broker_dir(self) -> Path:
        return self.data_dir / "broker"

    @property
    def uses_filesystem_broker(self) -> bool:
        return self.broker_url.startswith("filesystem://")


@lru_cache
def get_settings() -> Settings:
    return Settings()
