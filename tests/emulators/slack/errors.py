"""The one way a Web API method refuses a call, so every method answers in Slack's own shape."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A refusal Slack would answer with `{"ok": false, "error": ...}`.

    `status` and `headers` exist because a few refusals (rate limits, unknown methods) are not
    HTTP 200 on the real service, and clients branch on that.
    """

    def __init__(
        self,
        error: str,
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.headers = dict(headers or {})
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"ok": False, "error": self.error, **self.extra}


def invalid_arguments(message: str) -> ApiError:
    """Slack's answer to a missing or malformed required argument."""
    return ApiError(
        "invalid_arguments",
        response_metadata={"messages": [f"[ERROR] {message}"]},
    )
