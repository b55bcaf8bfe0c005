"""Turning Slack API failures inside a task into the right outcome.

The WebClient already retries rate limits a couple of times (its RateLimitErrorRetryHandler
honours Retry-After); what still fails with `ratelimited` or a server error is handed back to the
task runner to try again later. A refused token means the workspace removed the app (or revoked
the token): the task ends there, since trying again cannot help. Anything else is a real error.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from slack_sdk.errors import SlackApiError

from finetuning.tasks import RetryLaterError
from handlers.slack.clients import WorkspaceNotInstalledError
from handlers.slack.slack_errors import error_code, is_transient

TOKEN_REFUSED = frozenset({"token_revoked", "invalid_auth", "account_inactive", "token_expired"})


@contextmanager
def slack_transient_as_retry() -> Iterator[None]:
    """Re-raise Slack's passing failures as RetryLaterError, with its Retry-After if given, and
    a refused token as WorkspaceNotInstalledError (the task is abandoned)."""
    try:
        yield
    except SlackApiError as exc:
        if is_transient(exc):
            retry_after = exc.response.headers.get("Retry-After") if exc.response else None
            delay = timedelta(seconds=int(retry_after)) if retry_after else None
            status = exc.response.status_code if exc.response is not None else 0
            raise RetryLaterError(f"Slack answered {error_code(exc) or status}", delay) from exc
        if error_code(exc) in TOKEN_REFUSED:
            why = f"Slack refused its token ({error_code(exc)})"
            raise WorkspaceNotInstalledError(None, why) from exc
        raise
