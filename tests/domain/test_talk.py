"""Replies: what the model is shown (trimmed, shaped for legacy models), what comes back, and
the one error a chat front end gets for every way a reply can fail.

What the model was shown is read from the emulator's record of each completion request.
"""

from __future__ import annotations

import json
import math
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import openai
import pytest
from sqlalchemy.orm import Session, sessionmaker

from finetuning.audit import AuditLog
from finetuning.conversations import (
    ContextTooLongError,
    ConversationStore,
    ModelProfile,
    ModelProfiles,
    ModelResolver,
    Question,
    ReplySettings,
    Talk,
    TalkError,
    TalkProblem,
    TalkStream,
    chat_prompt,
)
from finetuning.credentials import Accounts
from finetuning.datasets.counting import TokenCounter
from finetuning.datasets.engine import ValidationSettings
from finetuning.datasets.library import DatasetLibrary, Origin
from finetuning.datasets.models import ModelCatalog, default_catalog
from finetuning.datasets.tokenizer import get_encoding
from finetuning.jobs import JobService
from finetuning.provider import ChatProvider, OpenAIProvider, ProviderSettings
from finetuning.provider.errors import HINT_QUOTA
from storage.models import Job
from tests.emulators.openai.sampling import logprob
from tests.emulators.openai_emulator import OpenAIEmulator
from tests.fixtures.openai import INSUFFICIENT_QUOTA, KEY

BASE = "gpt-4o-mini-2024-07-18"
LEGACY = "babbage-002"
CHAT_PATH = "/v1/chat/completions"
SEPARATOR = "\n\n###\n\n"


def sent(emu: OpenAIEmulator, endpoint: str) -> list[dict[str, Any]]:
    """The bodies of the completion requests the emulator answered, oldest first."""
    return [record.body for record in emu.completions if record.endpoint == endpoint]


@pytest.fixture
def provider_retries() -> int:
    return 1


@pytest.fixture
def library(session_factory: sessionmaker[Session], tmp_path: Path) -> DatasetLibrary:
    settings = ValidationSettings(workers=1, default_model=LEGACY)
    return DatasetLibrary(
        session_factory, tmp_path / "data", settings, audit=AuditLog(session_factory)
    )


@pytest.fixture
def store(session_factory: sessionmaker[Session]) -> ConversationStore:
    return ConversationStore(session_factory)


class Build:
    """Talk services over the same database and emulator, with the catalog a test needs."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        library: DatasetLibrary,
        provider: OpenAIProvider,
        client: openai.OpenAI,
    ) -> None:
        self.factory = factory
        self.library = library
        self.provider = provider
        self.chat = ChatProvider(client)

    def talk(self, catalog: ModelCatalog | None = None) -> Talk:
        catalog = catalog or default_catalog()
        accounts = Accounts.fixed(self.provider, self.chat)
        jobs = JobService(
            self.factory,
            self.library,
            accounts,
            catalog,
            BASE,
            audit=AuditLog(self.factory),
        )
        return Talk(
            accounts,
            ModelProfiles(self.factory, catalog),
            ModelResolver(jobs, catalog, accounts),
        )


@pytest.fixture
def build(
    session_factory: sessionmaker[Session],
    library: DatasetLibrary,
    provider: OpenAIProvider,
    client: openai.OpenAI,
) -> Build:
    return Build(session_factory, library, provider, client)


@pytest.fixture
def talk(build: Build) -> Talk:
    return build.talk()


def windowed(window: int) -> ModelCatalog:
    """The shipped catalog with every model's context window shrunk, to fill it in a test."""
    catalog = default_catalog()
    return replace(catalog, models=tuple(replace(m, context_window=window) for m in catalog.models))


def tuned_chat_model(emu: OpenAIEmulator) -> str:
    [job] = emu.create_jobs(1, model=BASE, status="succeeded")
    model: str = emu.job(job)["fine_tuned_model"]
    return model


def tuned_legacy_model(
    emu: OpenAIEmulator,
    provider: OpenAIProvider,
    library: DatasetLibrary,
    factory: sessionmaker[Session],
    folder: Path,
    lines: list[dict[str, str]],
    job_status: str = "succeeded",
) -> tuple[str, int]:
    """A legacy fine-tune at the emulator, and our job (with its checked dataset) behind it."""
    source = folder / "legacy.jsonl"
    source.write_text("".join(json.dumps(line) + "\n" for line in lines))
    dataset = library.ingest(source, Origin(workspace_id="T1", file_name="legacy.jsonl"))
    training_file = provider.upload_training_file(source)
    [provider_job] = emu.create_jobs(
        1, model=LEGACY, training_file=training_file, status="succeeded"
    )
    model: str = emu.job(provider_job)["fine_tuned_model"]
    with factory.begin() as session:
        row = Job(
            workspace_id="T1",
            dataset_id=dataset.id,
            idempotency_key=f"start:{provider_job}",
            provider_job_id=provider_job,
            base_model=LEGACY,
            status=job_status,
            fine_tuned_model=model if job_status == "succeeded" else None,
        )
        session.add(row)
        session.flush()
        return model, row.id


def read(stream: TalkStream) -> str:
    return "".join(stream)


def failure(stream: TalkStream) -> TalkError:
    with pytest.raises(TalkError) as caught:
        read(stream)
    return caught.value


# --- chat models -----------------------------------------------------------------------------


def test_a_thread_is_answered_with_its_whole_history_and_the_cost_is_reported(
    emu: OpenAIEmulator, talk: Talk, store: ConversationStore
) -> None:
    model = tuned_chat_model(emu)
    emu.chat_reply = "Paris, of course."
    conversation = store.open("T1", "C1", "100", model, ReplySettings("Answer in one line."))
    store.add_user_turn(conversation.id, "100", "Capital of Italy?", "U1")
    store.add_assistant_turn(conversation.id, "100", "Rome.", "101", model)
    store.add_user_turn(conversation.id, "102", "And of France?", "U1")
    emu.reset_log()

    stream = talk.answer(conversation, store.history(conversation.id, "102"))
    assert emu.count("POST", CHAT_PATH) == 0  # nothing is asked before the reply is read
    deltas = list(stream)

    assert len(deltas) > 1
    assert "".join(deltas) == "Paris, of course."
    [body] = sent(emu, "chat")
    assert body["messages"] == [
        {"role": "system", "content": "Answer in one line."},
        {"role": "user", "content": "Capital of Italy?"},
        {"role": "assistant", "content": "Rome."},
        {"role": "user", "content": "And of France?"},
    ]
    assert body["model"] == model
    result = stream.result
    assert (result.model, result.text, result.finish_reason) == (model, "Paris, of course.", "stop")
    assert result.usage is not None
    assert result.usage.completion_tokens == len(deltas)
    assert result.dropped_turns == 0
    assert result.classification is None


def test_the_oldest_turns_are_dropped_to_fit_and_the_system_prompt_stays(
    emu: OpenAIEmulator, build: Build, store: ConversationStore
) -> None:
    window, reserve = 200, 20
    talk = build.talk(windowed(window))
    emu.context_window = window
    emu.chat_reply = "Noted."
    settings = ReplySettings("You are terse.", max_tokens=reserve)
    conversation = store.open("T1", "C1", "1", BASE, settings)
    history_ts = [str(n) for n in range(1, 17)]
    for n, ts in enumerate(history_ts):
        text = f"message {n} " + "word " * 12
        if n % 2 == 0:
            store.add_user_turn(conversation.id, ts, text)
        else:
            store.add_assistant_turn(conversation.id, history_ts[n - 1], text, ts, BASE)
    store.add_user_turn(conversation.id, "17", "And the last question?")
    history = store.history(conversation.id, "17")

    stream = talk.answer(conversation, history)
    assert read(stream) == "Noted."

    [body] = sent(emu, "chat")
    shown = body["messages"]
    everything = [{"role": "system", "content": "You are terse."}] + [
        {"role": t.role, "content": t.content} for t in history
    ]
    kept = len(shown) - 1
    assert shown[0] == everything[0]
    assert shown[1:] == everything[-kept:]
    assert shown[1]["role"] == "user"
    assert 2 < kept < len(history)
    assert stream.result.dropped_turns == len(history) - kept
    count = TokenCounter(get_encoding("o200k_base")).messages
    assert count(shown) + reserve <= window
    assert count([everything[0], *everything[-(kept + 2) :]]) + reserve > window


def test_a_message_too_long_for_the_window_is_refused_before_calling_openai(
    emu: OpenAIEmulator, build: Build
) -> None:
    talk = build.talk(windowed(300))

    error = failure(talk.ask("T1", "gpt-4o-mini", "word " * 400))

    assert error.problem is TalkProblem.CONTEXT_TOO_LONG
    assert "300 tokens" in error.message
    assert not error.retryable
    assert emu.count("POST", CHAT_PATH) == 0


def test_the_system_prompt_counts_against_the_window_and_is_never_dropped() -> None:
    profile = ModelProfile(
        "gpt-4o-mini", replace(default_catalog().resolve(BASE), context_window=120)
    )
    long_rules = ReplySettings("Follow these rules. " * 40, max_tokens=10)
    question = [Question("What now?")]

    assert chat_prompt(profile, ReplySettings(max_tokens=10), question).dropped == 0
    with pytest.raises(ContextTooLongError) as caught:
        chat_prompt(profile, long_rules, question)

    assert (caught.value.window, caught.value.reserved) == (120, 10)
    assert caught.value.needed > 110


def test_a_window_smaller_than_we_thought_is_reported_as_too_long(
    emu: OpenAIEmulator, talk: Talk
) -> None:
    emu.context_window = 30

    error = failure(talk.ask("T1", "gpt-4o-mini", "word " * 40))

    assert error.problem is TalkProblem.CONTEXT_TOO_LONG
    assert "30 tokens" in error.message
    assert emu.count("POST", CHAT_PATH) == 1, "asked once; the stated window then refuses it"


def test_a_window_smaller_than_we_thought_trims_to_what_the_api_states(
    emu: OpenAIEmulator, talk: Talk, store: ConversationStore
) -> None:
    """The catalog says 128k; the deployment answers with 400 tokens: the thread still gets an
    answer, from its newest turns."""
    emu.context_window = 400
    emu.chat_reply = "Still here."
    conversation = store.open("T1", "C1", "1", BASE, ReplySettings("Stay.", max_tokens=50))
    for n in range(1, 12, 2):
        store.add_user_turn(conversation.id, str(n), f"question {n} " + "word " * 60)
        store.add_assistant_turn(conversation.id, str(n), "ok", str(n + 1), BASE)
    store.add_user_turn(conversation.id, "13", "last question")

    stream = talk.answer(conversation, store.history(conversation.id, "13"))

    assert read(stream) == "Still here."
    assert emu.count("POST", CHAT_PATH) == 2, "refused once with the real window, then trimmed"
    [answered] = sent(emu, "chat")
    assert len(answered["messages"]) < 1 + 13
    assert answered["messages"][0] == {"role": "system", "content": "Stay."}
    assert answered["messages"][-1] == {"role": "user", "content": "last question"}
    assert stream.result.dropped_turns > 0


def test_a_one_off_question_resolves_the_model_and_uses_the_settings(
    emu: OpenAIEmulator, talk: Talk
) -> None:
    emu.chat_reply = "Four."

    stream = talk.ask("T1", "gpt-4o-mini", "2+2?", ReplySettings("Be exact.", 0.0, 5))

    assert read(stream) == "Four."
    assert stream.result.model == BASE
    [body] = sent(emu, "chat")
    assert body["model"] == BASE
    assert body["messages"][0] == {"role": "system", "content": "Be exact."}
    assert (body["temperature"], body["max_completion_tokens"]) == (0.0, 5)


# --- legacy models ---------------------------------------------------------------------------


def test_a_legacy_model_gets_the_newest_message_shaped_like_its_training_data(
    emu: OpenAIEmulator,
    talk: Talk,
    store: ConversationStore,
    provider: OpenAIProvider,
    library: DatasetLibrary,
    session_factory: sessionmaker[Session],
    tmp_path: Path,
) -> None:
    lines = [
        {"prompt": f"Question {n}?{SEPARATOR}", "completion": f" Answer number {n}. END"}
        for n in range(12)
    ]
    model, _ = tuned_legacy_model(emu, provider, library, session_factory, tmp_path, lines)
    emu.chat_reply = " Answer number 7"
    conversation = store.open("T1", "C1", "1", model, ReplySettings("Ignored.", 0.4))
    store.add_user_turn(conversation.id, "1", "Question 6")
    store.add_assistant_turn(conversation.id, "1", "Answer number 6", "2", model)
    store.add_user_turn(conversation.id, "3", "Question 7")

    stream = talk.answer(conversation, store.history(conversation.id, "3"))

    assert read(stream) == " Answer number 7"
    [body] = sent(emu, "completions")
    assert body["prompt"] == f"Question 7?{SEPARATOR}"
    assert body["stop"] == ". END"
    assert body["temperature"] == 0.4
    assert body["max_tokens"] == 1024  # the legacy default of 16 would cut most answers
    assert stream.result.usage is not None


def test_a_one_token_classifier_answers_its_label_with_probabilities(
    emu: OpenAIEmulator,
    talk: Talk,
    provider: OpenAIProvider,
    library: DatasetLibrary,
    session_factory: sessionmaker[Session],
    tmp_path: Path,
) -> None:
    # Labels the emulator also offers as alternatives, so both get a probability.
    lines = [
        {"prompt": f"Pick an article {n}{SEPARATOR}", "completion": f"{label} END"}
        for n, label in enumerate([" a", " the"] * 10)
    ]
    model, job_id = tuned_legacy_model(emu, provider, library, session_factory, tmp_path, lines)
    emu.chat_reply = " a"

    stream = talk.ask("T1", f"job-{job_id}", "Pick an article for apple")

    assert read(stream) == "a"
    result = stream.result
    assert result.model == model
    assert result.classification is not None
    assert result.classification.label == " a"
    labels = [label for label, _ in result.classification.probabilities]
    assert labels == [" a", " the"]
    p_a, p_the = (p for _, p in result.classification.probabilities)
    assert p_a == pytest.approx(math.exp(logprob(" a")), abs=1e-6)
    assert p_the == pytest.approx(math.exp(logprob(" a") - 1.25), abs=1e-6)
    [body] = sent(emu, "completions")
    assert body["prompt"] == f"Pick an article for apple{SEPARATOR}"
    assert (body["max_tokens"], body["logprobs"], body["stop"]) == (1, 5, " END")


# --- failures --------------------------------------------------------------------------------


def test_a_deleted_model_says_so_and_how_to_move_on(
    emu: OpenAIEmulator, talk: Talk, store: ConversationStore, provider: OpenAIProvider
) -> None:
    model = tuned_chat_model(emu)
    conversation = store.open("T1", "C1", "1", model, ReplySettings())
    store.add_user_turn(conversation.id, "1", "Still there?")
    provider.delete_model(model)

    error = failure(talk.answer(conversation, store.history(conversation.id, "1")))

    assert error.problem is TalkProblem.MODEL_GONE
    assert error.message.startswith(f"`{model}` no longer exists or you have no access to it")
    assert "/finetune use" in error.hint
    assert not error.retryable


def test_a_job_still_training_is_not_ready(
    emu: OpenAIEmulator,
    talk: Talk,
    provider: OpenAIProvider,
    library: DatasetLibrary,
    session_factory: sessionmaker[Session],
    tmp_path: Path,
) -> None:
    lines = [{"prompt": f"Q{n}{SEPARATOR}", "completion": f" A{n} END"} for n in range(12)]
    _, job_id = tuned_legacy_model(
        emu, provider, library, session_factory, tmp_path, lines, job_status="running"
    )

    error = failure(talk.ask("T1", f"job-{job_id}", "Hello?"))

    assert error.problem is TalkProblem.NOT_READY
    assert "running" in error.message
    assert f"job-{job_id}" in error.hint


def test_a_model_on_a_base_we_do_not_know_is_explained(
    talk: Talk, store: ConversationStore
) -> None:
    conversation = store.open("T1", "C1", "1", "ft:gpt-9:acme::zz", ReplySettings())
    store.add_user_turn(conversation.id, "1", "Hi")

    error = failure(talk.answer(conversation, store.history(conversation.id, "1")))

    assert error.problem is TalkProblem.UNKNOWN_MODEL
    assert "ft:gpt-9:acme::zz" in error.message


def test_an_exhausted_quota_is_final_and_points_at_billing(emu: OpenAIEmulator, talk: Talk) -> None:
    emu.inject(CHAT_PATH, 429, count=2, retry_after=0.01, body=INSUFFICIENT_QUOTA)

    error = failure(talk.ask("T1", "gpt-4o-mini", "Hi"))

    assert error.problem is TalkProblem.QUOTA
    assert error.hint == HINT_QUOTA
    assert not error.retryable


def test_a_rate_limit_may_be_retried(emu: OpenAIEmulator, talk: Talk) -> None:
    emu.inject(CHAT_PATH, 429, count=2, retry_after=0.01)

    error = failure(talk.ask("T1", "gpt-4o-mini", "Hi"))

    assert error.problem is TalkProblem.RATE_LIMITED
    assert error.retryable


def test_a_connection_lost_mid_reply_keeps_what_was_said(
    session_factory: sessionmaker[Session], library: DatasetLibrary
) -> None:
    emulator = OpenAIEmulator(api_key=KEY, chat_reply="one two three four five six seven eight")
    emulator.tokens_per_second = 20
    with emulator, openai.OpenAI(api_key=KEY, base_url=emulator.base_url) as sdk:
        provider = OpenAIProvider(sdk, ProviderSettings(api_key=KEY, base_url=emulator.base_url))
        talk = Build(session_factory, library, provider, sdk).talk()
        stream = talk.ask("T1", "gpt-4o-mini", "Count")
        first = next(stream)
        stopping = threading.Thread(target=emulator.stop)
        stopping.start()
        with pytest.raises(TalkError) as caught:
            read(stream)
        stopping.join(timeout=10)

    error = caught.value
    assert first == "one"
    assert error.problem is TalkProblem.CONNECTION
    assert error.retryable
    assert error.partial.startswith("one")
    assert error.partial != "one two three four five six seven eight"
