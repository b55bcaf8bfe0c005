"""The update schedule of one streamed reply."""

from __future__ import annotations

import pytest

from handlers.common.pacing import MAX_INTERVAL, Pace


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_first_update_goes_at_once_then_one_per_interval() -> None:
    clock = Clock()
    pace = Pace(0.5, clock=clock)
    assert pace.due()
    pace.updated()
    assert not pace.due()
    clock.now += 0.49
    assert not pace.due()
    clock.now += 0.01
    assert pace.due()


def test_a_rate_limited_reply_slows_down_up_to_a_ceiling() -> None:
    clock = Clock()
    pace = Pace(1.0, clock=clock)
    pace.slow_down()
    assert pace.interval == 2.0 and not pace.due()
    clock.now += 1.5
    assert not pace.due()
    clock.now += 0.5
    assert pace.due()
    for _ in range(20):
        pace.slow_down()
    assert pace.interval == MAX_INTERVAL


def test_an_interval_above_the_ceiling_is_kept_and_zero_is_refused() -> None:
    pace = Pace(45.0, clock=Clock())
    pace.slow_down()
    assert pace.interval == 45.0
    with pytest.raises(ValueError):
        Pace(0, clock=Clock())
