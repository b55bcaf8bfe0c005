"""Who is an admin of tunebot in a workspace: the configured people plus Slack's own admins.

Slack already knows who runs the workspace (`users.info` → `is_admin` / `is_owner`), so a team
need not copy that list into tunebot's settings. Asking Slack on every command would cost a Web
API call inside the 3-second acknowledgement, so answers are kept for a while: a promotion or a
demotion takes effect within `ttl_seconds` (10 minutes by default).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

from slack_sdk.errors import SlackApiError

from handlers.slack.clients import SlackClients

log = logging.getLogger(__name__)

DEFAULT_TTL_SECONDS = 600.0


class AdminDirectory:
    """`is_admin` and `contacts`, asking each workspace's Slack; safe to share between threads."""

    def __init__(
        self,
        clients: SlackClients,
        admins: Iterable[str] = (),
        *,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clients = clients
        self._admins = tuple(dict.fromkeys(a.strip() for a in admins if a.strip()))
        self._ttl = ttl_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._answers: dict[tuple[str, str], tuple[float, bool]] = {}

    def is_admin(self, team_id: str, user_id: str) -> bool:
        """Whether the person may act as a tunebot admin. When Slack cannot be asked, the answer
        is no (and is not remembered): refusing an admin once is better than obeying anyone."""
        if not user_id:
            return False
        if user_id in self._admins:
            return True
        key = (team_id, user_id)
        now = self._clock()
        with self._lock:
            cached = self._answers.get(key)
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        try:
            response = self._clients.for_team(team_id).users_info(user=user_id)
        except SlackApiError as exc:
            log.warning("users.info failed for %s: %s", user_id, exc)
            return False
        user = response.get("user") or {}
        answer = bool(
            (user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))
            and not user.get("deleted")
        )
        with self._lock:
            self._answers[key] = (now, answer)
        return answer

    def contacts(self, team_id: str) -> str:
        """Who to ask, in mrkdwn: the configured admins' mentions, else a workspace admin."""
        if not self._admins:
            return "a workspace admin"
        mentions = [f"<@{user_id}>" for user_id in self._admins]
        if len(mentions) == 1:
            return mentions[0]
        return ", ".join(mentions[:-1]) + " or " + mentions[-1]

    @property
    def configured(self) -> tuple[str, ...]:
        """The TUNEBOT_ADMINS user ids, in the order given (where approval requests go)."""
        return self._admins
