"""Failures reach callers as one ProviderError with the API's words; the SDK does the retrying."""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import openai
import pytest

from finetuning.provider import (
    OpenAIProvider,
    ProviderError,
    ProviderSettings,
    from_openai,
    make_client,
)
from finetuning.provider.errors import (
    HINT_AUTH,
    HINT_DATASET,
    HINT_GENERIC,
    HINT_QUOTA,
    HINT_RATE_LIMIT,
    HINT_SERVICE,
)
from tests.emulators.openai_emulator import OpenAIEmulator
from tests.provider.conftest import api_calls

JOBS = "/v1/fine_tuning/jobs"


@pytest.fixture
def make_provider(settings: ProviderSettings) -> Iterator[Callable[..., OpenAIProvider]]:
    """Providers with adjusted settings; their clients are closed after the test."""
    clients: list[openai.OpenAI] = []

    def build(**changes: Any) -> OpenAIProvider:
        tuned = dataclasses.replace(settings, **changes)
        client = make_client(tuned)
        clients.append(client)
        return OpenAIProvider(client, tuned)

    yield build
    for client in clients:
        client.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_bad_key_is_a_401_with_a_hint_about_the_key(
    make_provider: Callable[..., OpenAIProvider],
) -> None:
    provider = make_provider(api_key="sk-wrong-key-000000000000")

    with pytest.raises(ProviderError) as caught:
        provider.list_jobs()

    error = caught.value
    assert (error.status, error.code) == (401, "invalid_api_key")
    assert error.message.startswith("Incorrect API key provided: sk-")
    assert error.hint == HINT_AUTH
    assert not error.retryable


def test_a_key_echoed_in_an_error_never_reaches_the_message_shown_in_chat(
    emu: OpenAIEmulator, provider: OpenAIProvider
) -> None:
    """Some gateways repeat the whole key in their 401; the message goes to a channel."""
    leaked = "sk-proj-" + "A1b2C3d4" * 6
    emu.inject(
        JOBS,
        401,
        count=5,
        body={"error": {"message": f"Key {leaked} is revoked.", "code": "invalid_api_key"}},
    )

    with pytest.raises(ProviderError) as caught:
        provider.list_jobs()

    assert leaked not in caught.value.message and leaked[:16] not in caught.value.message
    assert caught.value.message == "Key sk-proj-…[redacted] is revoked."


def test_a_429_with_retry_after_is_retried_transparently_after_the_wait(
    emu: OpenAIEmulator, provider: OpenAIProvider
) -> None:
    emu.inject(JOBS + "$", 429, count=1, retry_after=1.0, method="GET")

    jobs, more = provider.list_jobs()

    assert (jobs, more) == ([], False)
    calls = [r for r in emu.requests if r.method == "GET" and r.path == JOBS]
    assert len(calls) == 2
    # The SDK's own first backoff is at most 0.5 s: a longer gap means Retry-After was obeyed.
    assert calls[1].time - calls[0].time >= 0.95


def test_a_rate_limit_that_outlasts_the_retries_says_it_will_retry_later(
    emu: OpenAIEmulator, provider: OpenAIProvider
) -> None:
    emu.inject(JOBS + "$", 429, count=4, retry_after=0.01)

    with pytest.raises(ProviderError) as caught:
        provider.list_jobs()

    assert (caught.value.status, caught.value.code) == (429, "rate_limit_exceeded")
    assert caught.value.message.startswith("Rate limit reached for requests")
    assert caught.value.hint == HINT_RATE_LIMIT
    assert caught.value.retryable
    assert api_calls(emu, "GET", JOBS) == 4


def test_an_exhausted_quota_points_at_billing(
    emu: OpenAIEmulator, provider: OpenAIProvider
) -> None:
    quota = {
        "error": {
            "message": "You exceeded your current quota, please check your plan and billing "
            "details.",
            "type": "insufficient_quota",
            "param": None,
            "code": "insufficient_quota",
        }
    }
    emu.inject(JOBS + "$", 429, count=4, retry_after=0.01, body=quota)

    with pytest.raises(ProviderError) as caught:
        provider.list_jobs()

    assert caught.value.code == "insufficient_quota"
    assert caught.value.message.startswith("You exceeded your current quota")
    assert caught.value.hint == HINT_QUOTA
    assert not caught.value.retryable


def test_five_server_errors_in_a_row_outlast_three_retries(
    emu: OpenAIEmulator, provider: OpenAIProvider
) -> None:
    emu.inject(JOBS + "$", 500, count=5, retry_after=0.01)

    with pytest.raises(ProviderError) as caught:
        provider.list_jobs()

    assert caught.value.status == 500
    assert caught.value.message.startswith("The server had an error")
    assert caught.value.hint == HINT_SERVICE
    assert caught.value.retryable
    assert api_calls(emu, "GET", JOBS) == 4  # the first try and max_retries=3 more

    emu.clear_faults()
    assert provider.list_jobs() == ([], False)


def test_a_refused_connection_is_a_provider_error(
    make_provider: Callable[..., OpenAIProvider],
) -> None:
    provider = make_provider(base_url=f"http://127.0.0.1:{free_port()}/v1", max_retries=0)

    with pytest.raises(ProviderError) as caught:
        provider.list_jobs()

    error = caught.value
    assert error.connection and error.retryable
    assert (error.status, error.code) == (None, None)
    assert error.message.startswith("Could not reach OpenAI.")
    assert error.hint == HINT_SERVICE


def test_a_timeout_is_a_provider_error(
    emu: OpenAIEmulator, make_provider: Callable[..., OpenAIProvider]
) -> None:
    provider = make_provider(timeout_s=0.2, max_retries=0)
    emu.inject(JOBS + "$", None, count=1, delay=1.0)

    with pytest.raises(ProviderError) as caught:
        provider.list_jobs()

    assert caught.value.connection
    assert caught.value.message.startswith("OpenAI did not answer in time.")
    assert caught.value.hint == HINT_SERVICE


# -- from_openai on every body shape the SDK can hold ---------------------------------------

REQUEST = httpx.Request("POST", "https://api.example.test/v1/fine_tuning/jobs")


def status_error(status: int, body: object) -> openai.APIStatusError:
    response = httpx.Response(status, request=REQUEST)
    return openai.APIStatusError(f"Error code: {status}", response=response, body=body)


ERROR = {
    "message": "Training file has 3 example(s), but must have at least 10 examples",
    "type": "invalid_request_error",
    "param": "training_file",
    "code": "invalid_training_file",
}


@pytest.mark.parametrize("body", [ERROR, {"error": ERROR}], ids=["unwrapped", "wrapped"])
def test_from_openai_reads_a_dict_body_with_or_without_the_error_wrapper(body: object) -> None:
    error = from_openai(status_error(400, body))

    assert error.message == ERROR["message"]
    assert (error.status, error.param) == (400, "training_file")
    assert error.code == "invalid_training_file"
    assert error.error_type == "invalid_request_error"
    assert error.hint == HINT_DATASET


def test_from_openai_keeps_a_text_body_as_the_message() -> None:
    error = from_openai(status_error(502, "<html>Bad gateway</html>"))

    assert error.message == "<html>Bad gateway</html>"
    assert (error.status, error.code) == (502, None)
    assert error.hint == HINT_SERVICE


def test_from_openai_falls_back_to_the_sdk_message_without_a_body() -> None:
    error = from_openai(status_error(418, None))

    assert error.message == "Error code: 418"
    assert error.hint == HINT_GENERIC
    assert ProviderError.from_openai(status_error(418, None)).message == error.message


def test_from_openai_handles_an_error_string_inside_the_wrapper() -> None:
    assert from_openai(status_error(400, {"error": "bad things"})).message == "bad things"


def test_settings_refuse_impossible_values() -> None:
    with pytest.raises(ValueError):
        ProviderSettings(api_key="")
    with pytest.raises(ValueError):
        ProviderSettings(api_key="sk-x", upload_part_bytes=65 * 1024 * 1024)
    with pytest.raises(ValueError):
        ProviderSettings(api_key="sk-x", max_retries=-1)
