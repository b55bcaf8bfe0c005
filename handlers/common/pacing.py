"""How often one streamed reply may show its progress: at most once per update interval,
whatever the model's token rate, and slower after the platform said "too many".

Tokens are free, platform calls are rate limited: a reply is shown when it starts, then at most
once per interval (`TUNEBOT_STREAM_UPDATE_SECONDS`). When a call is refused as rate limited, the
interval doubles (up to `MAX_INTERVAL`) for the rest of the reply. Shared by the Slack and
Discord streams so that both pace the same way.
"""

from __future__ import annotations

import time
from collections.abc import Callable

MAX_INTERVAL = 30.0
"""The slowest a rate-limited stream backs off to between updates."""


class Pace:
    """The update schedule of one reply. Not thread-safe: one per reply."""

    def __init__(self, interval: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        if interval <= 0:
            raise ValueError("the update interval must be positive")
        self._base = interval
        self._interval = interval
        self._clock = clock
        self._due = 0.0

    @property
    def interval(self) -> float:
        return self._interval

    def due(self) -> bool:
        """Whether an update may go now."""
        return self._clock() >= self._due

    def updated(self) -> None:
        """An update went (or was skipped for an allowance): the next one is an interval away."""
        self._due = self._clock() + self._interval

    def slow_down(self) -> None:
        """The platform said "too many": halve this reply's update rate."""
        ceiling = max(MAX_INTERVAL, self._base)
        self._interval = min(self._interval * 2, ceiling)
        self._due = self._clock() + self._interval
