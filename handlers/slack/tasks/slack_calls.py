"""Turning Slack API failures inside a task into the right outcome.

The WebClient already retries rate limits a couple of times (its RateLimitErrorRetryHandler
honours Retry-After); what still fails with `ratelimited` or a server error is handed back to the
task runner to try again later, and anything else is a real error.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from slack_sdk.errors import SlackApiError

from finetuning.tasks import RetryLaterError

_TRANSIENT = frozenset({"ratelimited", "internal_error", "fatal_error", "service_unavailable"})


@contextmanager
def slack_transient_as_retry() -> Iterator[None]:
    """Re-raise Slack's passing failures as RetryLaterError, with its Retry-After if given."""
    try:
        yield
    except SlackApiError as exc:
        error = exc.response.get("error") if exc.response is not None else None
        status = exc.response.status_code if exc.response is not None else 0
        if error in _TRANSIENT or status == 429 or status >= 500:
            retry_after = exc.response.headers.get("Retry-After") if exc.response else None
            delay = timedelta(seconds=int(retry_after)) if retry_after else None
            raise RetryLaterError(f"Slack answered {error or status}", delay) from exc
        raise
