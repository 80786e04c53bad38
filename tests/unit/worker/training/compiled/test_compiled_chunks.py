"""How many epochs each call of the compiled program runs: about FITQ_HISTORY_FLUSH_SECONDS
of them at the measured pace, the first one alone."""

from worker.training.compiled.chunks import ChunkSizer


def test_the_first_call_runs_one_epoch_then_a_target_s_worth() -> None:
    sizer = ChunkSizer(target_seconds=1.0, capacity=16_384)
    assert sizer.next(remaining=4000) == 1
    sizer.ran(1, 0.004)  # 4 ms an epoch
    assert sizer.next(remaining=3999) == 250
    sizer.ran(250, 0.5)  # faster than the first epoch said: 2 ms
    assert sizer.next(remaining=3749) == 500


def test_a_chunk_never_passes_the_epochs_left_or_the_capacity() -> None:
    sizer = ChunkSizer(target_seconds=1.0, capacity=1000)
    sizer.ran(1, 1e-6)
    assert sizer.next(remaining=300) == 300
    assert sizer.next(remaining=5000) == 1000


def test_slow_epochs_run_one_at_a_time() -> None:
    sizer = ChunkSizer(target_seconds=1.0, capacity=1000)
    sizer.ran(1, 30.0)
    assert sizer.next(remaining=10) == 1


def test_a_zero_target_writes_every_epoch_as_it_ends() -> None:
    sizer = ChunkSizer(target_seconds=0.0, capacity=1000)
    sizer.ran(1, 1e-6)
    assert sizer.next(remaining=10) == 1
