"""A workspace-wide allowance for best-effort Slack calls, shared by every reply in progress.

Slack rate-limits per method per workspace over a minute, not per message: fifty replies each
editing once a second would send fifty edits a second and be refused. So every call that grows a
reply is counted here in the same one-minute window Slack counts in, and an intermediate edit is
skipped (its text waits for the next one) when the window is full. A reply's last call is never
skipped: each open reply holds a reservation for it, which intermediate edits may not use, so the
calls that complete replies fit in the window too.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Mapping

WINDOW_SECONDS = 60.0


class CallBudget:
    """Call counts per (workspace, method) over the last minute; methods not listed are free."""

    def __init__(
        self,
        per_minute: Mapping[str, int],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limits = dict(per_minute)
        self._clock = clock
        self._lock = threading.Lock()
        self._calls: dict[tuple[str, str], deque[float]] = {}
        self._reserved: dict[tuple[str, str], int] = {}

    def reserve(self, team_id: str, method: str) -> None:
        """A reply will need one `method` call to complete: keep room for it."""
        if method in self._limits:
            with self._lock:
                key = (team_id, method)
                self._reserved[key] = self._reserved.get(key, 0) + 1

    def take(self, team_id: str, method: str, *, force: bool = False) -> bool:
        """Whether the call may go now. With `force` it goes anyway (using a reservation if
        there is one): the last call of a reply."""
        limit = self._limits.get(method)
        if limit is None:
            return True
        key = (team_id, method)
        now = self._clock()
        with self._lock:
            calls = self._calls.setdefault(key, deque())
            while calls and now - calls[0] >= WINDOW_SECONDS:
                calls.popleft()
            reserved = self._reserved.get(key, 0)
            if force:
                self._reserved[key] = max(0, reserved - 1)
            elif len(calls) + reserved >= limit:
                return False
            calls.append(now)
            return True
