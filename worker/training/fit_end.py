"""How a fit ended, whichever trainer ran it."""

from dataclasses import dataclass
from datetime import datetime

from worker.training.progress import EarlyStop


@dataclass
class FitEnd:
    # cancelled, diverged, shutdown or lost (another attempt owns the job); None: it ran out
    # its epochs or early stopping ended it (`early_stop`).
    stop_reason: str | None = None
    diverged_epoch: int | None = None
    early_stop: EarlyStop | None = None
    first_epoch_at: datetime | None = None
    recording_seconds: float = 0.0  # fitq's own time in the fit (see EpochWriter)
