"""Snowflake ids and timestamps as Discord makes them.

discord.py derives `created_at` from an id (`snowflake_time`), and a front end may sort by id,
so ids carry the real creation time in their top bits and grow with it, as Discord's do.
"""

from __future__ import annotations

import datetime
import itertools
import threading
import time

DISCORD_EPOCH_MS = 1_420_070_400_000


class Snowflakes:
    """A thread-safe source of increasing snowflakes (time << 22 | counter)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counter = itertools.count()
        self._last = 0

    def next(self) -> int:
        with self._lock:
            now_ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
            candidate = (now_ms << 22) | (next(self._counter) & 0xFFF)
            # Never go backwards, even when the clock does or the counter wraps.
            self._last = max(candidate, self._last + 1)
            return self._last


def iso_timestamp(when: float | None = None) -> str:
    """An ISO 8601 timestamp with microseconds and +00:00, the shape the API answers."""
    moment = datetime.datetime.fromtimestamp(time.time() if when is None else when, datetime.UTC)
    return moment.isoformat()
