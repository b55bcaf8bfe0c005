"""Setting and removing a workspace's own key, the steps both front ends share: against the
OpenAI emulator (two accounts at one address) and a real database."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from finetuning.audit import AuditLog
from finetuning.credentials import Accounts, SecretBox, WorkspaceKeys, new_secret_key
from finetuning.provider import ProviderSettings
from handlers.common.workspace_key import (
    REMOVE,
    SET,
    KeyRefused,
    KeySaved,
    check_and_save,
    key_action,
    refused_text,
    remove_key,
    saved_text,
)
from tests.emulators.openai_emulator import OpenAIEmulator
from tests.fixtures.openai import KEY

OWN_KEY = "sk-proj-SharedStepsOwnKey" + "4" * 30
WRONG_KEY = "sk-proj-NobodysKeyAtAll" + "5" * 30


@pytest.fixture
def keys(session_factory: sessionmaker[Session]) -> WorkspaceKeys:
    return WorkspaceKeys(
        session_factory, SecretBox([new_secret_key()]), audit=AuditLog(session_factory)
    )


@pytest.fixture
def accounts(emu: OpenAIEmulator, keys: WorkspaceKeys) -> Accounts:
    emu.add_account(OWN_KEY, organization="own")
    return Accounts(
        keys,
        operator=ProviderSettings(api_key=KEY, base_url=emu.base_url, timeout_s=5.0, max_retries=0),
    )


def audit_rows(factory: sessionmaker[Session]) -> str:
    with factory() as session:
        return repr(session.execute(text("SELECT * FROM audit_entries")).all())


@pytest.mark.parametrize(
    ("argument", "action"), [("", SET), ("remove", REMOVE), (" Remove ", REMOVE), ("delete", None)]
)
def test_the_argument_is_nothing_or_remove(argument: str, action: str | None) -> None:
    assert key_action(argument) == action


def test_a_working_key_is_saved_then_replaced_and_audited_without_itself(
    keys: WorkspaceKeys, accounts: Accounts, session_factory: sessionmaker[Session]
) -> None:
    first = check_and_save(keys, accounts, "W1", "U1", keys.seal(OWN_KEY))
    second = check_and_save(keys, accounts, "W1", "U2", keys.seal(OWN_KEY))

    assert isinstance(first, KeySaved) and not first.replaced and first.models_visible > 0
    assert isinstance(second, KeySaved) and second.replaced
    assert keys.api_keys(["W1"]) == {"W1": OWN_KEY}
    audit = audit_rows(session_factory)
    assert audit.count("settings.changed") == 2 and OWN_KEY[-16:] not in audit
    assert "Key replaced. It works" in saved_text(second, "server")
    assert "this server fine-tunes" in saved_text(second, "server")


def test_a_key_openai_refuses_is_not_saved_and_says_why(
    keys: WorkspaceKeys, accounts: Accounts, session_factory: sessionmaker[Session]
) -> None:
    outcome = check_and_save(keys, accounts, "W1", "U1", keys.seal(WRONG_KEY))

    assert isinstance(outcome, KeyRefused)
    assert "Incorrect API key" in refused_text(outcome) and WRONG_KEY not in refused_text(outcome)
    assert outcome.hint
    assert keys.status("W1") is None and "settings.changed" not in audit_rows(session_factory)


def test_a_key_sealed_under_another_secret_is_refused_with_what_to_do(
    keys: WorkspaceKeys, accounts: Accounts
) -> None:
    sealed_elsewhere = SecretBox([new_secret_key()]).seal(OWN_KEY)

    outcome = check_and_save(keys, accounts, "W1", "U1", sealed_elsewhere)

    assert outcome == KeyRefused(
        "tunebot's own secret key changed while the key was on its way.", "Paste it again."
    )
    assert keys.status("W1") is None


def test_removing_says_whether_there_was_a_key_and_what_is_used_now(
    keys: WorkspaceKeys, accounts: Accounts, emu: OpenAIEmulator
) -> None:
    nothing = remove_key(keys, accounts, "W1", "U1", place="server", command="/finetune")
    assert nothing == (False, "This server has no key of its own to remove.")

    check_and_save(keys, accounts, "W1", "U1", keys.seal(OWN_KEY))
    removed, said = remove_key(keys, accounts, "W1", "U1", place="server", command="/finetune")

    assert removed and "key of whoever runs tunebot" in said
    assert keys.status("W1") is None

    without_operator = Accounts(keys, operator=None, base_url=emu.base_url)
    check_and_save(keys, accounts, "W1", "U1", keys.seal(OWN_KEY))
    _, said = remove_key(keys, without_operator, "W1", "U1", place="server", command="/ft")
    assert "until an admin sets a new one with `/ft key`" in said
