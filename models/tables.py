"""SQLAlchemy 2.0 typed ORM. SQL is the source of truth for job state."""

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Named constraints make Alembic migrations reproducible across PostgreSQL and SQLite.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class ExperimentStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINAL_STATUSES = frozenset(
    {ExperimentStatus.SUCCEEDED, ExperimentStatus.FAILED, ExperimentStatus.CANCELLED}
)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the zone on the way in)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given; use datetime.now(UTC)")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Binary JSON where the database has it; SQLite keeps its JSON text.
EPOCH_METRICS_TYPE = JSON().with_variant(JSONB(), "postgresql")

# The owner of everything in the embedded single-user mode (and of rows made before owners).
LOCAL_OWNER = "local"


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime,
        dict[str, Any]: JSON,
        list[str]: JSON,
        list[int]: JSON,
    }


_STATUS_VALUES = ", ".join(f"'{s.value}'" for s in ExperimentStatus)


class Experiment(Base):
    __tablename__ = "experiments"
    __table_args__ = (
        CheckConstraint(f"status IN ({_STATUS_VALUES})", name="status_known"),
        CheckConstraint("current_epoch >= 0 AND current_epoch <= epochs_total", name="epoch_range"),
        Index("ix_experiments_status_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner: Mapped[str] = mapped_column(String(100), default=LOCAL_OWNER, index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    tags: Mapped[list[str]] = mapped_column(default=list)
    spec: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16), default=ExperimentStatus.QUEUED.value)
    epochs_total: Mapped[int]
    current_epoch: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    # Metrics of the held-out test evaluation after fit, when the spec asks for one.
    test_metrics: Mapped[dict[str, Any] | None]
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    worker: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    # Deliveries that claimed this job; capped by a setting, past which it fails.
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")

    # Set when the experiment is one run of a study: which variant, which repeat, and the
    # values the study's grid gave its swept fields (JSON path -> value).
    study_id: Mapped[int | None] = mapped_column(
        ForeignKey("studies.id", ondelete="CASCADE"), index=True
    )
    variant: Mapped[str | None] = mapped_column(String(100))
    repeat: Mapped[int | None]
    grid_values: Mapped[dict[str, Any] | None]
    # Early stopping: the last epoch run and why the fit stopped before epochs_total.
    stopped_epoch: Mapped[int | None]
    stop_reason: Mapped[str | None] = mapped_column(Text)
    # The Keras backend that ran it, and where the worker's time went (see ExperimentTimings).
    backend: Mapped[str | None] = mapped_column(String(16))
    timings: Mapped[dict[str, Any] | None]
    # The versions of its last attempt's worker (fitq, Keras, the backend, numpy, Python):
    # a seeded history repeats only with the same ones.
    versions: Mapped[dict[str, Any] | None]
    # The trainer of its last attempt: compiled or fit, compile seconds, why it fell back.
    trainer: Mapped[dict[str, Any] | None]
    # Free text its owner keeps with it (PATCH).
    notes: Mapped[str | None] = mapped_column(Text)

    study: Mapped["Study | None"] = relationship(back_populates="experiments")


class Study(Base):
    """Models side by side: one experiment per (variant, repeat), created in one transaction.
    Its status is derived from its experiments."""

    __tablename__ = "studies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner: Mapped[str] = mapped_column(String(100), default=LOCAL_OWNER, index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    # The request as submitted: base spec, variants (partial overrides), grid, repeats.
    definition: Mapped[dict[str, Any]]
    repeats: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    notes: Mapped[str | None] = mapped_column(Text)  # free text its owner keeps (PATCH)

    experiments: Mapped[list[Experiment]] = relationship(
        back_populates="study", passive_deletes=True, order_by="Experiment.id"
    )


class EpochMetric(Base):
    """One row per finished epoch; (experiment_id, epoch) is the key. No foreign key: checked
    for every inserted epoch it was most of the database's CPU for a write, and every write
    is fenced by an UPDATE of its experiment's row in the same transaction; a trigger deletes
    an experiment's epochs with it (migration 0009)."""

    __tablename__ = "epoch_metrics"

    experiment_id: Mapped[int] = mapped_column(primary_key=True)
    epoch: Mapped[int] = mapped_column(primary_key=True)
    # Metric name -> value; None where Keras reported a non-finite number (JSON has no NaN).
    # JSONB on PostgreSQL: reading one metric of 100,000 rows takes a third of the time it
    # takes from json text, which is parsed again for every row (migration 0007).
    metrics: Mapped[dict[str, Any]] = mapped_column(EPOCH_METRICS_TYPE)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class MetricChunk(Base):
    """One metric over the consecutive epochs of one write, packed: the series behind
    downsampled histories and plots. Reading a metric of 100,000 epochs is then ~400 byte
    strings instead of a value extracted from each of 100,000 jsonb rows (BENCHMARKS.md,
    "History and plots"). epoch_metrics stays the record: a series whose chunks do not cover
    its epochs (written before migration 0008, or by a write of non-consecutive epochs) is
    read from there (models/series_chunks.py)."""

    __tablename__ = "metric_chunks"

    experiment_id: Mapped[int] = mapped_column(
        ForeignKey("experiments.id", ondelete="CASCADE"), primary_key=True
    )
    metric: Mapped[str] = mapped_column(Text, primary_key=True)
    first_epoch: Mapped[int] = mapped_column(primary_key=True)
    last_epoch: Mapped[int]
    # float64 little-endian, one per epoch first..last; NaN where the value is null or missing.
    packed: Mapped[bytes] = mapped_column(LargeBinary)


class DatasetFormat(StrEnum):
    CSV = "csv"
    NPZ = "npz"


class Dataset(Base):
    """An uploaded dataset, parsed and stored as an NPZ of float32 features and labels under
    the data directory. sha256 is its content address: identical uploads share one row."""

    __tablename__ = "datasets"
    __table_args__ = (
        CheckConstraint("format IN ('csv', 'npz')", name="format_known"),
        # Content-addressed per owner: two owners uploading the same file get a row each.
        UniqueConstraint("owner", "sha256", name="uq_datasets_owner_sha256"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner: Mapped[str] = mapped_column(String(100), default=LOCAL_OWNER, index=True)
    name: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    format: Mapped[str] = mapped_column(String(8))
    filename: Mapped[str] = mapped_column(String(255))
    # The CSV column the labels came from; None for an NPZ, whose labels are its `y`.
    label: Mapped[str | None] = mapped_column(String(200))
    rows: Mapped[int]
    features: Mapped[int]
    feature_shape: Mapped[list[int]]
    x_dtype: Mapped[str] = mapped_column(String(16))
    y_dtype: Mapped[str] = mapped_column(String(16))
    # Distinct labels when they look like classes (few integers), else None.
    classes: Mapped[list[int] | None]
    has_test: Mapped[bool] = mapped_column(Boolean)
    test_rows: Mapped[int] = mapped_column(default=0)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    # Relative to the data directory, so the API and workers may mount it at different places.
    path: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiKey(Base):
    """A bearer token, stored as its SHA-256 (never the token); made by `fitq create-key`."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner: Mapped[str] = mapped_column(String(100), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(
        String(12), doc="The token's first characters, to tell keys apart"
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


class IdempotencyKey(Base):
    """A client's Idempotency-Key on a POST, so a retry returns what the first call made."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("owner", "key", name="uq_idempotency_keys_owner_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(255))
    # A hash of method, path and body: the same key with another request is a 422.
    request_hash: Mapped[str] = mapped_column(String(64))
    resource: Mapped[str] = mapped_column(String(32))
    resource_id: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @staticmethod
    def expired_before(hours: float) -> datetime:
        """Keys created before this are forgotten (FITQ_IDEMPOTENCY_KEY_HOURS)."""
        return utcnow() - timedelta(hours=hours)


class ArtifactObject(Base):
    """An object of the database artifact store (models/store/database.py): its key and the
    version its chunks are stored under. A put writes a new version's chunks and swaps the
    row in one transaction, so a reader sees the old object or the new one, never a mix."""

    __tablename__ = "artifact_objects"

    key: Mapped[str] = mapped_column(String(512), primary_key=True)
    version: Mapped[str] = mapped_column(String(32), unique=True)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ArtifactChunk(Base):
    """One piece (1 MiB, the last one shorter) of an object version's bytes, in order."""

    __tablename__ = "artifact_chunks"

    version: Mapped[str] = mapped_column(String(32), primary_key=True)
    seq: Mapped[int] = mapped_column(primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
