"""Trouble on demand for REST routes: injected errors, 429s and latency.

A rule matches a route template (`"POST /channels/{channel_id}/messages"`) or, when given as a
regular expression over `"METHOD /path"`, any request; each match uses up one count. Tests
use these to prove the front end retries, backs off and reports, as the Slack and OpenAI
emulators' faults do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tests.emulators.discord.errors import DiscordError
from tests.emulators.discord.ratelimits import rate_limited


@dataclass
class Fault:
    route: str | None
    pattern: re.Pattern[str] | None
    remaining: int
    error: DiscordError | None
    delay: float


class Faults:
    """Rules in the order added. Callers hold the world lock."""

    def __init__(self) -> None:
        self._rules: list[Fault] = []

    def inject(
        self,
        route: str | None = None,
        *,
        pattern: str | None = None,
        status: int | None = None,
        code: int = 0,
        message: str = "",
        count: int = 1,
        delay: float = 0.0,
        retry_after: float | None = None,
        is_global: bool = False,
    ) -> None:
        if (route is None) == (pattern is None):
            raise ValueError("give a route template or a pattern, not both")
        error: DiscordError | None = None
        if status == 429 or retry_after is not None:
            error = rate_limited(
                retry_after if retry_after is not None else 1.0, is_global=is_global
            )
            if is_global:
                error.headers["X-RateLimit-Global"] = "true"
            error.headers["X-RateLimit-Scope"] = "global" if is_global else "user"
        elif status is not None:
            error = DiscordError(status, code, message or f"{status}: Injected failure")
        if error is None and delay <= 0:
            raise ValueError("inject needs a status, a delay, or both")
        compiled = re.compile(pattern) if pattern is not None else None
        self._rules.append(Fault(route, compiled, count, error, delay))

    def clear(self) -> None:
        self._rules.clear()

    def left(self) -> int:
        """Matches still to come over every rule: 0 once every injected fault was met."""
        return sum(rule.remaining for rule in self._rules)

    def take(self, route: str, method: str, path: str) -> Fault | None:
        target = f"{method} {path}"
        for rule in self._rules:
            if rule.route is not None and rule.route != route:
                continue
            if rule.pattern is not None and not rule.pattern.search(target):
                continue
            rule.remaining -= 1
            if rule.remaining <= 0:
                self._rules.remove(rule)
            return rule
        return None
