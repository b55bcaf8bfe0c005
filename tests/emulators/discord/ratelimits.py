"""Rate limits the way Discord states and enforces them, so discord.py's own limiter is tested.

Every answer carries the bucket's `X-RateLimit-Limit/-Remaining/-Reset/-Reset-After/-Bucket`
headers, which discord.py reads to wait *before* it would be refused. A request past the limit
gets 429 with `Retry-After`, `X-RateLimit-Scope` and the JSON body
`{"message": "You are being rate limited.", "retry_after": s, "global": bool}`; discord.py
sleeps `retry_after` and retries, and only when the 429 has a `Via` header (without it the
library assumes a Cloudflare ban and raises), so Discord's `Via` is sent too.

Buckets are per route and per major parameter (channel, guild, webhook+token), with a fixed
window from the bucket's first request. The global limit (50 requests a second for a bot)
spans every route except interaction callbacks and interaction webhooks, as on Discord.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field

from tests.emulators.discord.errors import DiscordError

GLOBAL_LIMIT_PER_SECOND = 50
# Discord's documented-by-experience limits for the routes a chat bot hammers; anything else
# gets a roomy default, so only these shape a test's pacing.
DEFAULT_LIMITS: dict[str, tuple[int, float]] = {
    "POST /channels/{channel_id}/messages": (5, 5.0),
    "PATCH /channels/{channel_id}/messages/{message_id}": (5, 5.0),
    "DELETE /channels/{channel_id}/messages/{message_id}": (5, 1.0),
    "POST /channels/{channel_id}/messages/{message_id}/threads": (10, 10.0),
    "POST /channels/{channel_id}/threads": (10, 10.0),
    "PATCH /webhooks/{application_id}/{token}/messages/{message_id}": (5, 2.0),
    "POST /webhooks/{application_id}/{token}": (5, 2.0),
}
FALLBACK_LIMIT = (50, 1.0)
VIA = "1.1 google"


@dataclass
class _Window:
    limit: int
    per: float
    start: float = 0.0
    used: int = 0


@dataclass
class Decision:
    headers: dict[str, str]
    refusal: DiscordError | None = None


@dataclass
class RateLimiter:
    """Counts requests per bucket; callers hold the world lock."""

    limits: dict[str, tuple[int, float]] = field(default_factory=lambda: dict(DEFAULT_LIMITS))
    global_per_second: int | None = GLOBAL_LIMIT_PER_SECOND
    _windows: dict[str, _Window] = field(default_factory=dict)
    _global: _Window = field(default_factory=lambda: _Window(GLOBAL_LIMIT_PER_SECOND, 1.0))
    refused: int = 0

    def set_limit(self, route: str, limit: int, per: float) -> None:
        self.limits[route] = (limit, per)
        self._windows = {k: w for k, w in self._windows.items() if not k.startswith(route + ":")}

    def take(self, route: str, major: str, now: float, *, global_exempt: bool) -> Decision:
        limit, per = self.limits.get(route, FALLBACK_LIMIT)
        key = f"{route}:{major}"
        window = self._windows.get(key)
        if window is None or window.limit != limit or now - window.start >= window.per:
            window = self._windows[key] = _Window(limit, per, now, 0)
        bucket = hashlib.sha1(route.encode()).hexdigest()[:16]
        reset_after = max(0.0, window.start + window.per - now)
        if not global_exempt and self.global_per_second is not None:
            refusal = self._take_global(now)
            if refusal is not None:
                return Decision({}, refusal)
        if window.used >= window.limit:
            self.refused += 1
            headers = self._headers(window, bucket, now, reset_after)
            headers.update(
                {
                    "Retry-After": str(max(1, math.ceil(reset_after))),
                    "X-RateLimit-Scope": "user",
                    "Via": VIA,
                }
            )
            return Decision(headers, rate_limited(reset_after, headers=headers))
        window.used += 1
        return Decision(self._headers(window, bucket, now, reset_after))

    def _take_global(self, now: float) -> DiscordError | None:
        assert self.global_per_second is not None
        window = self._global
        if window.limit != self.global_per_second or now - window.start >= window.per:
            window = self._global = _Window(self.global_per_second, 1.0, now, 0)
        if window.used < window.limit:
            window.used += 1
            return None
        self.refused += 1
        retry = max(0.0, window.start + window.per - now)
        headers = {
            "Retry-After": str(max(1, math.ceil(retry))),
            "X-RateLimit-Global": "true",
            "X-RateLimit-Scope": "global",
            "Via": VIA,
        }
        return rate_limited(retry, is_global=True, headers=headers)

    @staticmethod
    def _headers(window: _Window, bucket: str, now: float, reset_after: float) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(window.limit),
            "X-RateLimit-Remaining": str(max(0, window.limit - window.used)),
            "X-RateLimit-Reset": f"{now + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": bucket,
        }


def rate_limited(
    retry_after: float, *, is_global: bool = False, headers: dict[str, str] | None = None
) -> DiscordError:
    """The 429 itself; also what an injected rate-limit fault answers."""
    all_headers = {"Retry-After": str(max(1, math.ceil(retry_after))), "Via": VIA}
    all_headers.update(headers or {})
    return DiscordError(
        429,
        0,
        "You are being rate limited.",
        headers=all_headers,
        extra={"retry_after": round(retry_after, 3), "global": is_global},
    )
