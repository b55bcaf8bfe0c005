"""Talking to models: streamed chat and completions, classification, and every way it fails.

What was sent is read from the emulator's record of each completion request it answered.
"""

from __future__ import annotations

import json
import math
import threading
from pathlib import Path
from typing import Any

import openai
import pytest

from finetuning.provider import ChatMessage, ChatProvider, OpenAIProvider, ProviderError
from finetuning.provider.chat import CUT_OFF
from finetuning.provider.errors import HINT_QUOTA
from tests.emulators.openai.sampling import logprob
from tests.emulators.openai_emulator import OpenAIEmulator
from tests.fixtures.openai import INSUFFICIENT_QUOTA, KEY
from tests.provider.conftest import MODEL, chat_examples

LEGACY = "babbage-002"
CHAT_PATH = "/v1/chat/completions"


def sent(emu: OpenAIEmulator, endpoint: str) -> list[dict[str, Any]]:
    """The bodies of the completion requests the emulator answered, oldest first."""
    return [record.body for record in emu.completions if record.endpoint == endpoint]


@pytest.fixture
def chat(client: openai.OpenAI) -> ChatProvider:
    return ChatProvider(client)


def tuned(emu: OpenAIEmulator, provider: OpenAIProvider, folder: Path, base: str = MODEL) -> str:
    """A fine-tuned model of `base` the account owns, trained on data of the right format."""
    path = folder / "train.jsonl"
    if base == LEGACY:
        lines = [{"prompt": f"Q{n}\n\n###\n\n", "completion": f" A{n} END"} for n in range(12)]
        path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    else:
        path.write_bytes(chat_examples(12))
    training_file = provider.upload_training_file(path)
    [job] = emu.create_jobs(1, model=base, training_file=training_file, status="succeeded")
    model: str = emu.job(job)["fine_tuned_model"]
    return model


# --- chat ------------------------------------------------------------------------------------


def test_a_chat_reply_streams_in_pieces_then_tells_how_it_ended(
    emu: OpenAIEmulator, chat: ChatProvider
) -> None:
    emu.chat_reply = "Hello there, friend."
    messages = [ChatMessage("system", "Be brief."), ChatMessage("user", "Hi")]

    stream = chat.stream_chat(MODEL, messages)
    deltas = list(stream)

    assert deltas == ["Hello", " there", ",", " friend", "."]
    [body] = sent(emu, "chat")
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
    ]
    result = stream.result
    assert result.text == "Hello there, friend."
    assert result.finish_reason == "stop"
    assert result.model == MODEL
    # The emulator's count: (3 + 3) for the system message, (1 + 3) for the user's, 3 priming.
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (13, 5)


def test_the_reply_settings_are_sent_and_a_short_limit_cuts_the_reply(
    emu: OpenAIEmulator, chat: ChatProvider
) -> None:
    emu.chat_reply = "one two three four five"

    stream = chat.stream_chat(MODEL, [ChatMessage("user", "Count")], temperature=0.2, max_tokens=2)

    assert "".join(stream) == "one two"
    assert stream.result.finish_reason == "length"
    [body] = sent(emu, "chat")
    assert body["temperature"] == 0.2
    assert body["max_completion_tokens"] == 2
    assert body["stream_options"] == {"include_usage": True}


def test_unset_settings_are_left_to_the_api(emu: OpenAIEmulator, chat: ChatProvider) -> None:
    list(chat.stream_chat(MODEL, [ChatMessage("user", "Hi")]))

    [body] = sent(emu, "chat")
    assert "temperature" not in body
    assert "max_completion_tokens" not in body


def test_the_result_is_not_there_before_the_reply_is_read(chat: ChatProvider) -> None:
    stream = chat.stream_chat(MODEL, [ChatMessage("user", "Hi")])

    with pytest.raises(RuntimeError):
        _ = stream.result
    stream.close()


# --- legacy completions ----------------------------------------------------------------------


def test_a_completion_is_sent_as_given_with_its_stop_and_length(
    emu: OpenAIEmulator, chat: ChatProvider, provider: OpenAIProvider, tmp_path: Path
) -> None:
    emu.chat_reply = " It is four."
    model = tuned(emu, provider, tmp_path, LEGACY)

    stream = chat.stream_completion(
        model, "What is 2+2?\n\n###\n\n", stop=" END", max_tokens=50, temperature=0.0
    )

    assert "".join(stream) == " It is four."
    [body] = sent(emu, "completions")
    assert body["prompt"] == "What is 2+2?\n\n###\n\n"
    assert (body["stop"], body["max_tokens"], body["temperature"]) == (" END", 50, 0.0)
    assert stream.result.finish_reason == "stop"
    assert stream.result.usage is not None
    assert stream.result.usage.completion_tokens == 4


def test_no_stop_sequence_means_none_is_sent(emu: OpenAIEmulator, chat: ChatProvider) -> None:
    list(chat.stream_completion(LEGACY, "Once upon a time", stop="", max_tokens=5))

    [body] = sent(emu, "completions")
    assert "stop" not in body


def test_a_classifier_answers_one_token_with_the_probabilities_of_its_rivals(
    emu: OpenAIEmulator, chat: ChatProvider, provider: OpenAIProvider, tmp_path: Path
) -> None:
    emu.chat_reply = " positive END"
    model = tuned(emu, provider, tmp_path, LEGACY)

    ranked = chat.classify(model, "Great film!\n\n###\n\n", stop=" END", top=3)

    tokens = [token for token, _ in ranked]
    assert tokens[0] == " positive"
    assert len(tokens) == 3
    assert ranked[0][1] == pytest.approx(math.exp(logprob(" positive")))
    probabilities = [p for _, p in ranked]
    assert probabilities == sorted(probabilities, reverse=True)
    assert all(0 < p <= 1 for p in probabilities)
    [body] = sent(emu, "completions")
    assert (body["max_tokens"], body["logprobs"], body["temperature"]) == (1, 3, 0)
    assert body["stop"] == " END"


# --- models ----------------------------------------------------------------------------------


def test_a_model_exists_until_it_is_deleted(
    emu: OpenAIEmulator, chat: ChatProvider, provider: OpenAIProvider, tmp_path: Path
) -> None:
    model = tuned(emu, provider, tmp_path)
    assert chat.model_exists(MODEL)
    assert chat.model_exists(model)

    provider.delete_model(model)

    assert not chat.model_exists(model)
    assert not chat.model_exists("ft:gpt-4o-mini-2024-07-18:someone-else::xyz")


# --- failures --------------------------------------------------------------------------------


def test_a_deleted_model_fails_before_any_word(
    emu: OpenAIEmulator, chat: ChatProvider, provider: OpenAIProvider, tmp_path: Path
) -> None:
    model = tuned(emu, provider, tmp_path)
    provider.delete_model(model)

    with pytest.raises(ProviderError) as caught:
        chat.stream_chat(model, [ChatMessage("user", "Hi")])

    assert (caught.value.status, caught.value.code) == (404, "model_not_found")
    assert model in caught.value.message


def test_an_exhausted_quota_is_not_retried_forever_and_points_at_billing(
    emu: OpenAIEmulator, chat: ChatProvider
) -> None:
    emu.inject(CHAT_PATH, 429, count=4, retry_after=0.01, body=INSUFFICIENT_QUOTA)

    with pytest.raises(ProviderError) as caught:
        chat.stream_chat(MODEL, [ChatMessage("user", "Hi")])

    assert caught.value.code == "insufficient_quota"
    assert caught.value.hint == HINT_QUOTA
    assert not caught.value.retryable


def test_a_too_long_prompt_is_refused_with_the_numbers(
    emu: OpenAIEmulator, chat: ChatProvider
) -> None:
    emu.context_window = 20

    with pytest.raises(ProviderError) as caught:
        chat.stream_chat(MODEL, [ChatMessage("user", "word " * 30)], max_tokens=5)

    assert caught.value.code == "context_length_exceeded"
    assert "maximum context length is 20 tokens" in caught.value.message


def test_a_connection_lost_mid_reply_is_a_retryable_provider_error() -> None:
    emulator = OpenAIEmulator(api_key=KEY, chat_reply="one two three four five six seven eight")
    emulator.tokens_per_second = 20
    with emulator, openai.OpenAI(api_key=KEY, base_url=emulator.base_url) as client:
        stream = ChatProvider(client).stream_chat(MODEL, [ChatMessage("user", "Count")])
        received = [next(stream)]
        stopping = threading.Thread(target=emulator.stop)
        stopping.start()
        with pytest.raises(ProviderError) as caught:
            received.extend(stream)
        stopping.join(timeout=10)

    assert received[0] == "one"
    assert len(received) < 8
    assert caught.value.connection
    assert caught.value.retryable
    assert caught.value.message.startswith(CUT_OFF)


def test_a_reply_that_stalls_past_the_timeout_is_a_connection_error(
    emu: OpenAIEmulator,
) -> None:
    emu.chat_reply = "slow words arrive here"
    emu.tokens_per_second = 2
    with openai.OpenAI(api_key=KEY, base_url=emu.base_url, timeout=0.2) as client:
        stream = ChatProvider(client).stream_completion(LEGACY, "Go", max_tokens=10)
        with pytest.raises(ProviderError) as caught:
            list(stream)

    assert caught.value.connection
