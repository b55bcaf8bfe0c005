"""Trouble on demand: per-method rate limits and one-off injected errors.

Real Slack answers bursts with HTTP 429 + Retry-After and has bad minutes; tests use these
knobs to prove the app backs off and recovers instead of dropping work.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from tests.emulators.slack.errors import ApiError

WINDOW_SECONDS = 60.0


@dataclass
class _RateLimit:
    per_minute: int
    retry_after: int | None
    accepted: deque[float]


@dataclass
class _Injection:
    error: str | None
    remaining: int
    status: int
    delay: float
    late: float = 0.0
    """Seconds the answer waits after the call took effect (see `SlackEmulator.inject`)."""


@dataclass(frozen=True)
class Gate:
    """What happens to one call: refused or not, held back before it runs, answered late."""

    refusal: ApiError | None = None
    delay: float = 0.0
    late: float = 0.0


class Faults:
    """Decides, per call, whether a method answers normally. Callers hold the workspace lock."""

    def __init__(self) -> None:
        self._limits: dict[str, _RateLimit] = {}
        self._injections: dict[str, list[_Injection]] = {}

    def rate_limit(self, method: str, per_minute: int, retry_after: int | None = None) -> None:
        if per_minute < 0:
            raise ValueError("per_minute must be >= 0")
        self._limits[method] = _RateLimit(per_minute, retry_after, deque())

    def clear_rate_limit(self, method: str) -> None:
        self._limits.pop(method, None)

    def clear(self) -> None:
        """Forget every rate limit and every injection not yet used up."""
        self._limits.clear()
        self._injections.clear()

    def inject(
        self,
        method: str,
        error: str | None,
        count: int,
        status: int,
        delay: float,
        late: float = 0.0,
    ) -> None:
        if error is None and delay <= 0 and late <= 0:
            raise ValueError("inject needs an error, a delay, a late answer, or some of them")
        self._injections.setdefault(method, []).append(
            _Injection(error, count, status, delay, late)
        )

    def take(self, method: str, now: float) -> Gate:
        """What happens to one call to `method` at `now`."""
        queue = self._injections.get(method, [])
        while queue and queue[0].remaining <= 0:
            queue.pop(0)
        if not queue:
            return Gate(self._rate_limited(method, now))
        injection = queue[0]
        injection.remaining -= 1
        if injection.error is not None:
            refusal = ApiError(injection.error, status=injection.status)
            return Gate(refusal, injection.delay, injection.late)
        return Gate(self._rate_limited(method, now), injection.delay, injection.late)

    def _rate_limited(self, method: str, now: float) -> ApiError | None:
        limit = self._limits.get(method)
        if limit is None:
            return None
        while limit.accepted and now - limit.accepted[0] >= WINDOW_SECONDS:
            limit.accepted.popleft()
        if len(limit.accepted) < limit.per_minute:
            limit.accepted.append(now)
            return None
        if limit.retry_after is not None:
            wait = limit.retry_after
        elif limit.accepted:
            wait = max(1, math.ceil(WINDOW_SECONDS - (now - limit.accepted[0])))
        else:
            wait = int(WINDOW_SECONDS)
        return ApiError("ratelimited", status=429, headers={"Retry-After": str(wait)})
