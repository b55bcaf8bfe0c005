"""The API's error envelope, so every failure the emulator gives parses like a real one.

The real service always answers errors as ``{"error": {message, type, param, code}}``; the SDK
maps the HTTP status to an exception class and keeps the body, so tests can assert on both.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error answer: raised anywhere in a route, rendered once by the server."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = headers or {}
        self._body = body

    def body(self) -> dict[str, Any]:
        if self._body is not None:
            return self._body
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }


def mask_key(key: str) -> str:
    """Mask a key the way the API echoes it back: a few leading and the last four characters."""
    if len(key) <= 10:
        return key
    return key[:3] + "*" * (len(key) - 7) + key[-4:]


def invalid_api_key(given: str) -> ApiError:
    return ApiError(
        401,
        f"Incorrect API key provided: {mask_key(given)}. You can find your API key at "
        "https://platform.openai.com/account/api-keys.",
        code="invalid_api_key",
    )


def missing_api_key() -> ApiError:
    return ApiError(
        401,
        "You didn't provide an API key. You need to provide your API key in an Authorization "
        "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
    )


def invalid_url(method: str, path: str) -> ApiError:
    return ApiError(404, f"Invalid URL ({method} {path})")


def bad_request(message: str, param: str | None = None, code: str | None = None) -> ApiError:
    return ApiError(400, message, param=param, code=code)


def missing_parameter(name: str) -> ApiError:
    return ApiError(
        400,
        f"Missing required parameter: '{name}'.",
        param=name,
        code="missing_required_parameter",
    )


def invalid_type(name: str, expected: str) -> ApiError:
    return ApiError(
        400,
        f"Invalid type for '{name}': expected {expected}.",
        param=name,
        code="invalid_type",
    )


def model_not_found(model: str) -> ApiError:
    return ApiError(
        404,
        f"The model `{model}` does not exist or you do not have access to it.",
        code="model_not_found",
    )


def file_not_found(file_id: str) -> ApiError:
    return ApiError(404, f"No such File object: {file_id}", param="id")


def upload_not_found(upload_id: str) -> ApiError:
    return ApiError(404, f"No such Upload object: {upload_id}", param="upload_id")


def job_not_found(job_id: str) -> ApiError:
    return ApiError(
        404,
        f"Could not find fine-tuning job: {job_id}",
        param="fine_tuning_job_id",
        code="fine_tuning_job_not_found",
    )


def rate_limited(retry_after: float | None) -> ApiError:
    wait = 1.0 if retry_after is None else retry_after
    headers = {
        "retry-after": _seconds(wait),
        "x-ratelimit-limit-requests": "500",
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": f"{_seconds(wait)}s",
        "x-ratelimit-limit-tokens": "200000",
        "x-ratelimit-remaining-tokens": "0",
        "x-ratelimit-reset-tokens": f"{_seconds(wait)}s",
    }
    return ApiError(
        429,
        "Rate limit reached for requests in organization org-emulator on requests per min "
        f"(RPM): Limit 500, Used 500, Requested 1. Please try again in {_seconds(wait)}s.",
        type="requests",
        code="rate_limit_exceeded",
        headers=headers,
    )


def server_error(status: int = 500) -> ApiError:
    if status == 503:
        return ApiError(
            503,
            "The server is overloaded or not ready yet.",
            type="server_error",
        )
    return ApiError(
        status,
        "The server had an error while processing your request. Sorry about that!",
        type="server_error",
    )


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
