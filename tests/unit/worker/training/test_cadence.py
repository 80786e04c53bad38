"""The checkpoint interval bounds the work a resume redoes, however long a save takes."""

from worker.training.cadence import Cadence


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_slow_save_does_not_stretch_the_interval() -> None:
    clock = Clock()
    cadence = Cadence(5, clock)
    clock.now += 5
    assert cadence.due()
    started = clock.now
    clock.now += 0.2  # a save on a loaded machine: 100 x this once pushed the next to 20 s
    cadence.ran(started)
    clock.now += 4.9
    assert not cadence.due()
    clock.now += 0.1
    assert cadence.due()


def test_every_epoch_when_the_interval_is_zero() -> None:
    clock = Clock()
    cadence = Cadence(0, clock)
    assert cadence.due()
    cadence.ran(clock.now - 3)
    assert cadence.due() and not cadence.costly(0.05)


def test_a_save_costing_a_large_share_of_the_interval_is_costly() -> None:
    clock = Clock()
    cadence = Cadence(5, clock)
    cadence.ran(clock.now - 0.2)
    assert not cadence.costly(0.05)
    cadence.ran(clock.now - 0.3)
    assert cadence.costly(0.05)
