"""A per-person limit on slash commands and button clicks, checked before anything is enqueued.

One person repeating a command (a stuck key, a script driving their session, an impatient
double-click fifty times) must not fill the task queue and the OpenAI quota everyone shares.
The count is per process: replicas each allow the limit, which bounds a flood without another
round trip to the database on every request.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)

WINDOW_SECONDS = 60.0
DEFAULT_PER_MINUTE = 20


@dataclass(frozen=True)
class Verdict:
    """Whether one request may run; when not, how long until it would."""

    allowed: bool
    retry_after: float = 0.0

    @property
    def retry_seconds(self) -> int:
        return max(1, math.ceil(self.retry_after))


ALLOWED = Verdict(True)


class FloodLimit:
    """At most `per_minute` requests per key in any sliding 60-second window; thread-safe.

    Refused requests are not counted, so a person who keeps trying is let in as soon as their
    oldest counted request is a minute old.
    """

    def __init__(
        self,
        per_minute: int = DEFAULT_PER_MINUTE,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self.per_minute = per_minute
        self._clock = clock
        self._window = WINDOW_SECONDS
        self._lock = threading.Lock()
        self._seen: dict[str, deque[float]] = {}
        self._told_until: dict[str, float] = {}
        self._next_sweep = clock() + WINDOW_SECONDS

    def check(self, key: str) -> Verdict:
        """Count one request for `key` if it is within the limit."""
        with self._lock:
            now = self._clock()
            if now >= self._next_sweep:
                self._sweep(now)
            seen = self._seen.setdefault(key, deque())
            while seen and now - seen[0] >= self._window:
                seen.popleft()
            if len(seen) < self.per_minute:
                seen.append(now)
                return ALLOWED
            return Verdict(False, seen[0] + self._window - now)

    def first_notice(self, key: str, verdict: Verdict) -> bool:
        """True once per wait: whether a refusal is worth a message of its own (a click's is;
        a command's costs nothing, being its acknowledgement, and does not count here)."""
        with self._lock:
            now = self._clock()
            if now < self._told_until.get(key, -math.inf):
                return False
            self._told_until[key] = now + verdict.retry_after
            return True

    @property
    def people(self) -> int:
        """How many people the limit currently remembers."""
        with self._lock:
            return len(self._seen)

    def _sweep(self, now: float) -> None:
        """Forget people idle for a window: memory follows who is active, not who ever was."""
        self._seen = {k: v for k, v in self._seen.items() if v and now - v[-1] < self._window}
        self._told_until = {k: t for k, t in self._told_until.items() if t > now}
        self._next_sweep = now + self._window


def person(team: str | None, user: str) -> str:
    """The key a person is counted under (user ids are unique only within a workspace)."""
    return f"{team or ''}:{user}"


def slow_down(verdict: Verdict, per_minute: int) -> str:
    """What the refused person reads: why, and when to try again."""
    seconds = verdict.retry_seconds
    return (
        f":snail: Slow down: you sent more than {per_minute} commands and clicks in a minute. "
        f"Try again in {seconds} second{'' if seconds == 1 else 's'}."
    )


def turned_away(
    limit: FloodLimit, body: dict[str, Any], ack: Ack, client: WebClient | None = None
) -> bool:
    """Count a slash command or button click; over the limit, answer it here and return True.

    A command's refusal is its (private) acknowledgement. A click cannot be answered with text,
    so the person is told in a private message, once per window: a refused click costs no more
    Slack calls however often it repeats.
    """
    command = "command" in body
    if command:
        team, user = body.get("team_id"), str(body["user_id"])
    else:
        team, user = (body.get("team") or {}).get("id"), str(body["user"]["id"])
    key = person(team, user)
    verdict = limit.check(key)
    if verdict.allowed:
        return False
    text = slow_down(verdict, limit.per_minute)
    if command:
        ack(text=text)
        return True
    ack()
    channel = (body.get("channel") or {}).get("id")
    if channel and client is not None and limit.first_notice(key, verdict):
        try:
            client.chat_postEphemeral(channel=str(channel), user=user, text=text)
        except SlackApiError as exc:  # the click is refused either way
            log.warning("could not tell %s to slow down: %s", user, exc)
    return True
