"""An allowance for best-effort platform calls, shared by every reply in progress.

Chat platforms rate-limit the calls that grow a streamed reply per scope and window, not per
message: Slack counts chat.update per workspace over a minute (Tier 3, 50), Discord counts
message edits per channel over five seconds (5). Fifty replies each editing once a second would
be refused, so every call that grows a reply is counted here in the window the platform counts
in, and an intermediate edit is skipped (its text waits for the next one) when the window is
full. A reply's last call is never skipped: each open reply holds a reservation for it, which
intermediate edits may not use, so the calls that complete replies fit in the window too.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Mapping

WINDOW_SECONDS = 60.0
"""Slack's window; a platform that counts differently passes its own."""


class CallBudget:
    """Call counts per (scope, method) over the last window; methods not listed are free.

    The scope is whatever the platform counts by: a Slack workspace, a Discord channel.
    """

    def __init__(
        self,
        limits: Mapping[str, int],
        *,
        window_seconds: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if window_seconds <= 0:
            raise ValueError("window_seconds must be positive")
        self._limits = dict(limits)
        self._window = window_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._calls: dict[tuple[str, str], deque[float]] = {}
        self._reserved: dict[tuple[str, str], int] = {}

    def reserve(self, scope: str, method: str) -> None:
        """A reply will need one `method` call to complete: keep room for it."""
        if method in self._limits:
            with self._lock:
                key = (scope, method)
                self._reserved[key] = self._reserved.get(key, 0) + 1

    def take(self, scope: str, method: str, *, force: bool = False) -> bool:
        """Whether the call may go now. With `force` it goes anyway (using a reservation if
        there is one): the last call of a reply."""
        limit = self._limits.get(method)
        if limit is None:
            return True
        key = (scope, method)
        now = self._clock()
        with self._lock:
            calls = self._calls.setdefault(key, deque())
            while calls and now - calls[0] >= self._window:
                calls.popleft()
            reserved = self._reserved.get(key, 0)
            if force:
                self._reserved[key] = max(0, reserved - 1)
            elif len(calls) + reserved >= limit:
                return False
            calls.append(now)
            return True
