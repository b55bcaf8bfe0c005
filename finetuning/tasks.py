"""The contract between durable-task handlers (in the front ends) and the runner (in `bot/`)."""

from __future__ import annotations

from datetime import timedelta

ATTEMPT = "_attempt"
"""Payload key the runner adds: which attempt at the task this is (1 for the first), so a handler
can check whether an earlier attempt's side effect (a posted message) already happened."""


class RetryLaterError(Exception):
    """The work may succeed later unchanged (a rate limit, an outage): try again after `delay`.

    Any other exception is retried too, with backoff, but is logged as a failure; this one is an
    expected pause.
    """

    def __init__(self, message: str, delay: timedelta | None = None) -> None:
        super().__init__(message)
        self.delay = delay


class AbandonTaskError(Exception):
    """The work can never be done as asked (the workspace it is for uninstalled the app): end
    the task at once, as failed with this reason, rather than retrying it with backoff."""
