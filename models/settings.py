"""The one Settings class. Every variable is documented in README.md and .env.example."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
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
    training_queue: str = "training"
    # How often a long epoch checks the cancel flag from inside the epoch (seconds).
    cancel_check_seconds: float = Field(default=2.0, gt=0, le=60)
    # Jobs a worker process runs at once; one per process keeps a GPU to one fit.
    worker_concurrency: int = Field(default=1, ge=1, le=64)
    # Longest a job may run; the broker's visibility timeout is set past it.
    job_time_limit_seconds: int = Field(default=24 * 3600, ge=60)
    max_error_chars: int = Field(default=2000, ge=200)
    # Largest uploaded dataset file (bytes); an NPZ may not unpack to more than this either.
    # The API stops reading a request as soon as it passes the limit.
    max_upload_bytes: int = Field(default=100 * 1024**2, ge=1024, le=64 * 1024**3)
    # Most samples an uploaded dataset may hold, test split included.
    max_dataset_rows: int = Field(default=5_000_000, ge=1, le=2**31 - 1)
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _fill_embedded_defaults(self) -> "Settings":
        if self.mode == "production":
            missing = [n for n in ("database_url", "broker_url") if not getattr(self, n)]
            if missing:
                names = ", ".join(f"FITQ_{n.upper()}" for n in missing)
                raise ValueError(f"production mode needs {names}; no defaults outside embedded")
            return self
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'fitq.db'}"
        if not self.broker_url:
            self.broker_url = "filesystem://"
        return self

    @property
    def broker_dir(self) -> Path:
        return self.data_dir / "broker"

    @property
    def uses_filesystem_broker(self) -> bool:
        return self.broker_url.startswith("filesystem://")


@lru_cache
def get_settings() -> Settings:
    return Settings()
