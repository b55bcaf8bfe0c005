"""Injected failures and the request log: how tests prove a client retries and paces itself."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from typing import Any, NamedTuple

from .errors import ApiError, rate_limited, server_error


class RecordedRequest(NamedTuple):
    method: str
    path: str
    time: float  # wall-clock seconds (time.time()) when the request arrived
    query: str = ""  # the query string as sent, percent-decoded (`after=ftjob-...&limit=20`)

    @property
    def target(self) -> str:
        """Path and query together, which is what tells one page of a list from another."""
        return f"{self.path}?{self.query}" if self.query else self.path


@dataclass
class FaultRule:
    pattern: re.Pattern[str]
    status: int | None
    remaining: int
    retry_after: float | None
    body: dict[str, Any] | None
    method: str | None
    delay: float

    def error(self) -> ApiError | None:
        if self.status is None:
            return None
        if self.status == 429:
            error = rate_limited(self.retry_after)
        elif self.status >= 500:
            error = server_error(self.status)
            if self.retry_after is not None:
                error.headers["retry-after"] = f"{self.retry_after:g}"
        else:
            error = ApiError(self.status, f"Injected failure ({self.status}).")
        if self.body is not None:
            error = ApiError(self.status, error.message, headers=error.headers, body=self.body)
        return error


class Faults:
    """Rules are tried in the order added; each matching request uses up one count."""

    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self._rules: list[FaultRule] = []

    def add(self, rule: FaultRule) -> None:
        with self._lock:
            self._rules.append(rule)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def take(self, method: str, path: str) -> FaultRule | None:
        with self._lock:
            for rule in self._rules:
                if rule.method not in (None, method) or not rule.pattern.search(path):
                    continue
                rule.remaining -= 1
                if rule.remaining <= 0:
                    self._rules.remove(rule)
                return rule
        return None


class RequestLog:
    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self._entries: list[RecordedRequest] = []

    def record(self, method: str, path: str, query: str = "") -> None:
        with self._lock:
            self._entries.append(RecordedRequest(method, path, time.time(), query))

    def count(self, method: str | None, path_regex: str, since: float | None = None) -> int:
        """Requests with `method` (None: any) whose path, or path?query, fully matches."""
        pattern = re.compile(path_regex)
        wanted = method.upper() if method else None
        with self._lock:
            return sum(
                1
                for entry in self._entries
                if wanted in (None, entry.method)
                and (since is None or entry.time >= since)
                and (pattern.fullmatch(entry.path) or pattern.fullmatch(entry.target))
            )

    def snapshot(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._entries)

    def reset(self) -> None:
        with self._lock:
            self._entries.clear()
