"""Conversations: one per thread, each message stored once, history in the order it was said;
and model profiles: how a model must be talked to, read from the data that trained it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from finetuning.audit import AuditLog
from finetuning.conversations import ConversationStore, ModelProfiles, ReplySettings, Turn
from finetuning.datasets.engine import ValidationSettings
from finetuning.datasets.library import DatasetLibrary, Origin, StoredDataset
from finetuning.datasets.models import UnknownModelError, default_catalog
from finetuning.provider import Usage
from storage.models import ConversationTurn, Job

TUNED = "ft:gpt-4o-mini-2024-07-18:acme::abc123"
LEGACY_TUNED = "ft:babbage-002:acme::leg456"
THREAD = "1700000000.000100"


@pytest.fixture
def store(session_factory: sessionmaker[Session]) -> ConversationStore:
    return ConversationStore(session_factory)


def turn_count(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return int(session.scalar(select(func.count()).select_from(ConversationTurn)) or 0)


# --- conversations ---------------------------------------------------------------------------


def test_a_thread_has_one_conversation_that_follows_the_latest_settings(
    store: ConversationStore,
) -> None:
    first = store.open("T1", "C1", THREAD, TUNED, ReplySettings("Be brief."), by="U1")

    again = store.open("T1", "C1", THREAD, "gpt-4o-mini-2024-07-18", ReplySettings(None, 0.5), "U2")

    assert again.id == first.id
    assert again.model == "gpt-4o-mini-2024-07-18"
    assert again.settings == ReplySettings(None, 0.5, None)
    assert again.created_by == "U1"
    assert store.find("T1", "C1", THREAD) == again


def test_only_that_thread_is_a_conversation(store: ConversationStore) -> None:
    assert not store.is_conversation("T1", "C1", THREAD)

    store.open("T1", "C1", THREAD, TUNED, ReplySettings())

    assert store.is_conversation("T1", "C1", THREAD)
    assert not store.is_conversation("T1", "C1", "1700000000.000101")
    assert not store.is_conversation("T1", "C2", THREAD)
    assert not store.is_conversation("T2", "C1", THREAD)
    assert store.find("T2", "C1", THREAD) is None


def test_a_redelivered_message_is_stored_once(
    store: ConversationStore, session_factory: sessionmaker[Session]
) -> None:
    conversation = store.open("T1", "C1", THREAD, TUNED, ReplySettings())

    assert store.add_user_turn(conversation.id, THREAD, "Hello?", "U1") is True
    assert store.add_user_turn(conversation.id, THREAD, "Hello?", "U1") is False

    assert turn_count(session_factory) == 1
    assert [t.content for t in store.history(conversation.id, THREAD)] == ["Hello?"]


def test_a_reply_is_stored_once_with_its_cost_and_marks_the_message_answered(
    store: ConversationStore,
) -> None:
    conversation = store.open("T1", "C1", THREAD, TUNED, ReplySettings())
    store.add_user_turn(conversation.id, THREAD, "Hello?", "U1")
    assert not store.answered(conversation.id, THREAD)

    usage = Usage(prompt_tokens=12, completion_tokens=3)
    assert store.add_assistant_turn(conversation.id, THREAD, "Hi there.", "1.5", TUNED, usage)
    assert not store.add_assistant_turn(conversation.id, THREAD, "Hi there.", "1.5", TUNED, usage)

    assert store.answered(conversation.id, THREAD)
    [_, reply] = store.history(conversation.id, THREAD)
    assert reply == Turn(
        role="assistant",
        content="Hi there.",
        message_ts="1.5",
        reply_to_ts=THREAD,
        model=TUNED,
        prompt_tokens=12,
        completion_tokens=3,
        created_at=reply.created_at,
    )
    assert reply.created_at is not None


def test_the_same_message_id_may_be_a_question_and_a_reply_in_different_roles(
    store: ConversationStore,
) -> None:
    """The unique key includes the role: ids of two kinds of message never clash."""
    conversation = store.open("T1", "C1", THREAD, TUNED, ReplySettings())

    assert store.add_user_turn(conversation.id, "5", "Question")
    assert store.add_assistant_turn(conversation.id, "5", "Answer", "5", TUNED)


def test_history_runs_in_message_order_with_each_reply_after_its_question(
    store: ConversationStore,
) -> None:
    conversation = store.open("T1", "C1", "900", TUNED, ReplySettings())
    # Stored out of order, with ids whose text order is not their number order.
    store.add_user_turn(conversation.id, "1000", "third question")
    store.add_user_turn(conversation.id, "900", "first question")
    store.add_assistant_turn(conversation.id, "990", "second answer", "995", TUNED)
    store.add_assistant_turn(conversation.id, "900", "first answer", "950", TUNED)
    store.add_user_turn(conversation.id, "990", "second question")
    store.add_assistant_turn(conversation.id, "1000", "third answer", "1010", TUNED)

    def said(up_to: str) -> list[str]:
        return [t.content for t in store.history(conversation.id, up_to)]

    assert said("1000") == [
        "first question",
        "first answer",
        "second question",
        "second answer",
        "third question",
        "third answer",
    ]
    assert said("990") == ["first question", "first answer", "second question", "second answer"]
    assert said("899") == []


def test_turns_of_another_conversation_are_never_mixed_in(store: ConversationStore) -> None:
    mine = store.open("T1", "C1", THREAD, TUNED, ReplySettings())
    other = store.open("T1", "C2", THREAD, TUNED, ReplySettings())
    store.add_user_turn(mine.id, THREAD, "mine")
    store.add_user_turn(other.id, THREAD, "other")

    assert [t.content for t in store.history(mine.id, THREAD)] == ["mine"]


def test_a_turn_for_no_conversation_is_an_error_not_a_duplicate(
    store: ConversationStore,
) -> None:
    with pytest.raises(IntegrityError):
        store.add_user_turn(987654, THREAD, "lost")


# --- model profiles --------------------------------------------------------------------------

SEPARATOR = "\n\n###\n\n"


def legacy_lines(completions: list[str]) -> list[dict[str, str]]:
    return [
        {"prompt": f"Review number {n}{SEPARATOR}", "completion": f"{text} END"}
        for n, text in enumerate(completions * 10)
    ]


@pytest.fixture
def library(session_factory: sessionmaker[Session], tmp_path: Path) -> DatasetLibrary:
    settings = ValidationSettings(workers=1, default_model="babbage-002")
    return DatasetLibrary(
        session_factory, tmp_path / "data", settings, audit=AuditLog(session_factory)
    )


@pytest.fixture
def profiles(session_factory: sessionmaker[Session]) -> ModelProfiles:
    return ModelProfiles(session_factory, default_catalog())


def trained(
    factory: sessionmaker[Session],
    library: DatasetLibrary,
    folder: Path,
    lines: list[dict[str, str]],
    model: str,
    workspace: str = "T1",
) -> StoredDataset:
    """A dataset stored the normal way, and a finished job of ours that made `model` from it."""
    source = folder / f"{model.replace(':', '_')}-{workspace}.jsonl"
    source.write_text("".join(json.dumps(line) + "\n" for line in lines))
    dataset = library.ingest(source, Origin(workspace_id=workspace, file_name=source.name))
    with factory.begin() as session:
        session.add(
            Job(
                workspace_id=workspace,
                dataset_id=dataset.id,
                idempotency_key=f"start:{source.name}",
                base_model=model.split(":")[1],
                status="succeeded",
                fine_tuned_model=model,
            )
        )
    return dataset


def test_a_chat_model_is_profiled_from_the_catalog_alone(profiles: ModelProfiles) -> None:
    profile = profiles.profile("T1", TUNED)

    assert profile.base.id == "gpt-4o-mini-2024-07-18"
    assert (profile.endpoint, profile.context_window, profile.encoding) == (
        "chat",
        128_000,
        "o200k_base",
    )
    assert profile.style is None
    assert not profile.is_classifier


def test_a_legacy_fine_tune_takes_separator_and_stop_from_its_training_data(
    profiles: ModelProfiles,
    library: DatasetLibrary,
    session_factory: sessionmaker[Session],
    tmp_path: Path,
) -> None:
    lines = [
        {"prompt": f"Question {n}?{SEPARATOR}", "completion": f" Answer number {n}. END"}
        for n in range(12)
    ]
    trained(session_factory, library, tmp_path, lines, LEGACY_TUNED)

    profile = profiles.profile("T1", LEGACY_TUNED)

    assert (profile.endpoint, profile.context_window) == ("completions", 16_384)
    assert profile.separator == "?" + SEPARATOR
    assert profile.stop == ". END"
    assert not profile.is_classifier


def test_one_token_labels_make_a_classifier(
    profiles: ModelProfiles,
    library: DatasetLibrary,
    session_factory: sessionmaker[Session],
    tmp_path: Path,
) -> None:
    trained(
        session_factory, library, tmp_path, legacy_lines([" positive", " negative"]), LEGACY_TUNED
    )

    profile = profiles.profile("T1", LEGACY_TUNED)

    assert profile.classifier_labels == (" negative", " positive")
    assert profile.stop == " END"


def test_labels_of_several_tokens_are_generated_not_classified(
    profiles: ModelProfiles,
    library: DatasetLibrary,
    session_factory: sessionmaker[Session],
    tmp_path: Path,
) -> None:
    trained(
        session_factory,
        library,
        tmp_path,
        legacy_lines([" extremely positive", " negative"]),
        LEGACY_TUNED,
    )

    profile = profiles.profile("T1", LEGACY_TUNED)

    assert profile.style is not None
    assert profile.style.labels == (" extremely positive", " negative")
    assert profile.classifier_labels is None


def test_another_workspaces_training_data_is_not_used(
    profiles: ModelProfiles,
    library: DatasetLibrary,
    session_factory: sessionmaker[Session],
    tmp_path: Path,
) -> None:
    trained(
        session_factory,
        library,
        tmp_path,
        legacy_lines([" positive", " negative"]),
        LEGACY_TUNED,
        workspace="T2",
    )

    profile = profiles.profile("T1", LEGACY_TUNED)

    assert profile.endpoint == "completions"
    assert (profile.style, profile.separator, profile.stop) == (None, "", None)
    assert profiles.profile("T2", LEGACY_TUNED).is_classifier


def test_a_base_legacy_model_has_no_training_style(profiles: ModelProfiles) -> None:
    profile = profiles.profile("T1", "davinci-002")

    assert (profile.endpoint, profile.style, profile.classifier_labels) == (
        "completions",
        None,
        None,
    )


def test_a_model_on_an_unknown_base_cannot_be_profiled(profiles: ModelProfiles) -> None:
    with pytest.raises(UnknownModelError):
        profiles.profile("T1", "ft:gpt-9:acme::zzz")
