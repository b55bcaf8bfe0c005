"""Building the one `openai.OpenAI` client tunebot uses, from explicit settings.

Retries are the SDK's job, not ours: on connection errors, 408, 409, 429 and 5xx it retries up to
`max_retries` times with exponential backoff and jitter, and it honours the server's
`Retry-After`/`retry-after-ms` headers (up to a minute). A second retry layer on top would
multiply attempts and ignore those headers, so `OpenAIProvider` never retries a request itself;
it only turns the SDK's final failure into a `ProviderError`.
"""

from __future__ import annotations

from dataclasses import dataclass

import openai

MIB = 1024 * 1024
SINGLE_UPLOAD_LIMIT_BYTES = 512 * MIB  # the Files API's limit for one multipart request
MAX_PART_BYTES = 64 * MIB  # the Uploads API's limit for one part


@dataclass(frozen=True)
class ProviderSettings:
    """Where and how to reach OpenAI; `base_url` also points tests at the emulator.

    Files up to `single_upload_limit_bytes` go through `files.create` in one request; larger
    ones through the Uploads API in parts of `upload_part_bytes`.
    """

    api_key: str
    base_url: str | None = None
    organization: str | None = None
    project: str | None = None
    timeout_s: float = 600.0
    max_retries: int = 3
    single_upload_limit_bytes: int = SINGLE_UPLOAD_LIMIT_BYTES
    upload_part_bytes: int = MAX_PART_BYTES

    def __post_init__(self) -> None:
        if not self.api_key:
            raise ValueError("an OpenAI API key is required")
        if self.timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        if self.max_retries < 0:
            raise ValueError("max_retries cannot be negative")
        if self.single_upload_limit_bytes < 1:
            raise ValueError("single_upload_limit_bytes must be positive")
        if not 1 <= self.upload_part_bytes <= MAX_PART_BYTES:
            raise ValueError(f"upload_part_bytes must be between 1 and {MAX_PART_BYTES}")


def make_client(settings: ProviderSettings) -> openai.OpenAI:
    """A client whose own retry loop (see the module docstring) is the only one in tunebot."""
    return openai.OpenAI(
        api_key=settings.api_key,
        base_url=settings.base_url,
        organization=settings.organization,
        project=settings.project,
        timeout=settings.timeout_s,
        max_retries=settings.max_retries,
    )
