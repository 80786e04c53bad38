"""How a fit ended, whichever trainer ran it."""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from worker.training.lifecycle import EarlyStop


class StopReason(StrEnum):
    """Why a fit stopped before its epochs ran out, other than early stopping."""

    CANCELLED = "cancelled"
    DIVERGED = "diverged"  # a non-finite loss
    SHUTDOWN = "shutdown"  # a warm shutdown: the job is handed back
    LOST = "lost"  # another attempt owns the job now


@dataclass
class FitEnd:
    # None: it ran out its epochs or early stopping ended it (`early_stop`).
    stop_reason: StopReason | None = None
    diverged_epoch: int | None = None
    early_stop: EarlyStop | None = None
    first_epoch_at: datetime | None = None
    recording_seconds: float = 0.0  # fitq's own time in the fit (see EpochWriter)
