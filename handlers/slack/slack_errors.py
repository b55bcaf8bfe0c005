"""Which Slack API failures pass by themselves, so the call may be tried again later."""

from __future__ import annotations

from typing import Any

from slack_sdk.errors import SlackApiError

TRANSIENT_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)


def error_code(error: SlackApiError) -> str:
    """Slack's `error` string (`channel_not_found`…), or "" when the answer had none."""
    response: Any = error.response
    return str(response.get("error") or "") if response is not None else ""


def is_transient(error: SlackApiError) -> bool:
    """Rate limits and Slack's own failures: the same call may work in a moment."""
    response: Any = error.response
    status = int(response.status_code) if response is not None else 0
    return status == 429 or status >= 500 or error_code(error) in TRANSIENT_ERRORS
