"""One exception for everything that can go wrong talking to OpenAI, with advice for a person.

The SDK raises a dozen classes whose `message` is a preformatted "Error code: 400 - {...}"
string; the chat front ends need the API's own sentence, its code, and one line saying what the
user can do about it. `ProviderError` carries exactly that, so nothing above this package ever
imports `openai` to make sense of a failure.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import openai

from finetuning.redaction import KEY_SHAPES

HINT_AUTH = (
    "OpenAI rejected the API key: an admin sets a working one with `/finetune key` (or the "
    "operator checks OPENAI_API_KEY and its organization/project)."
)
HINT_QUOTA = (
    "The OpenAI account is out of quota: check billing and usage limits on platform.openai.com."
)
HINT_RATE_LIMIT = "OpenAI is rate-limiting requests right now; tunebot will retry later."
HINT_MODEL = "Check the model name: `/finetune models` lists the ones you can use."
HINT_DATASET = "OpenAI rejected the training data: fix the dataset and upload it again."
HINT_PERMISSION = (
    "The API key is not allowed to do this: check its project and permissions on "
    "platform.openai.com."
)
HINT_NOT_FOUND = "OpenAI does not know that id: check it with `/finetune list`."
HINT_SERVICE = "OpenAI had a problem on its side: try again in a few minutes."
HINT_GENERIC = "OpenAI refused the request: read the message above, adjust, and try again."

_MODEL_CODES = frozenset({"model_not_found", "model_not_available", "invalid_model"})
_DATASET_CODES = frozenset({"invalid_training_file", "invalid_file_format", "file_too_large"})
_DATASET_PARAMS = frozenset({"training_file", "validation_file", "file"})


def hint_for(
    *,
    status: int | None,
    code: str | None,
    param: str | None = None,
    error_type: str | None = None,
    connection: bool = False,
) -> str:
    """The one line a chat user needs, from whatever the API told us.

    Also used for a failed job's `error` (status None, code such as ``invalid_training_file``),
    which is why every argument but `status` and `code` is optional.
    """
    if connection or (status is not None and status >= 500):
        return HINT_SERVICE
    if status == 401 or code == "invalid_api_key":
        return HINT_AUTH
    if "insufficient_quota" in (code, error_type):
        return HINT_QUOTA
    if status == 429 or code == "rate_limit_exceeded":
        return HINT_RATE_LIMIT
    if status == 403:
        return HINT_PERMISSION
    if code in _MODEL_CODES or param == "model":
        return HINT_MODEL
    if code in _DATASET_CODES or param in _DATASET_PARAMS:
        return HINT_DATASET
    if status == 404:
        return HINT_NOT_FOUND
    if status is None and code is None:
        return HINT_SERVICE
    return HINT_GENERIC


class ProviderError(Exception):
    """A failed call to OpenAI: the API's own words plus what a user should do next.

    `retryable` tells the caller whether the same request may succeed later unchanged (rate
    limits, outages, lost connections); the SDK has already retried those a few times by then.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        param: str | None = None,
        error_type: str | None = None,
        hint: str | None = None,
        connection: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.param = param
        self.error_type = error_type
        self.connection = connection
        self.hint = hint or hint_for(
            status=status, code=code, param=param, error_type=error_type, connection=connection
        )

    @property
    def retryable(self) -> bool:
        if self.connection or (self.status is not None and self.status >= 500):
            return True
        return self.status == 429 and "insufficient_quota" not in (self.code, self.error_type)

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return (
            f"ProviderError(status={self.status!r}, code={self.code!r}, param={self.param!r}, "
            f"message={self.message!r})"
        )

    @classmethod
    def from_openai(cls, exc: openai.APIError) -> ProviderError:
        return from_openai(exc)


def from_openai(exc: openai.APIError) -> ProviderError:
    """Translate any SDK error, reading its body however the server shaped it."""
    if isinstance(exc, openai.APIConnectionError):
        timed_out = isinstance(exc, openai.APITimeoutError)
        message = "OpenAI did not answer in time." if timed_out else "Could not reach OpenAI."
        cause = exc.__cause__ or exc.__context__
        if cause is not None and str(cause):
            message = f"{message} ({cause})"
        return ProviderError(message, connection=True)
    fields = _error_fields(exc.body)
    status = getattr(exc, "status_code", None)
    # The message is shown in chat: a gateway that echoes the key it was sent must not put the
    # key in front of the whole channel.
    return ProviderError(
        KEY_SHAPES.redact(_text(fields.get("message")) or exc.message),
        code=_text(fields.get("code")) or exc.code,
        status=status if isinstance(status, int) else None,
        param=_text(fields.get("param")) or exc.param,
        error_type=_text(fields.get("type")) or exc.type,
    )


def _error_fields(body: object) -> Mapping[str, Any]:
    """The error object, whether or not the SDK already unwrapped ``{"error": {...}}``."""
    if isinstance(body, Mapping):
        inner = body.get("error", body)
        if isinstance(inner, Mapping):
            return inner
        if isinstance(inner, str):
            return {"message": inner}
        return {}
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str) and body.strip():
        return {"message": body.strip()}
    return {}


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


@contextmanager
def translated() -> Iterator[None]:
    """Turn whatever the SDK finally raised (after its retries) into a ProviderError."""
    try:
        yield
    except openai.APIError as exc:
        raise from_openai(exc) from exc
