"""Workspace keys in the database: sealed, audited without the key, scoped to one workspace."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from finetuning.audit import AuditLog
from finetuning.credentials import KeysDisabledError, SecretBox, WorkspaceKeys, new_secret_key
from finetuning.credentials.workspace_keys import KeyShapeError, checked_shape
from storage.models import AuditEntry, Dataset, WorkspaceCredential
from tests.fixtures.rows import dataset_row

KEY_A = "sk-proj-AAAA" + "1" * 40
KEY_B = "sk-proj-BBBB" + "2" * 40


@pytest.fixture
def box() -> SecretBox:
    return SecretBox([new_secret_key()])


@pytest.fixture
def keys(session_factory: sessionmaker[Session], box: SecretBox) -> WorkspaceKeys:
    return WorkspaceKeys(session_factory, box, audit=AuditLog(session_factory))


def everything_stored(factory: sessionmaker[Session]) -> str:
    """Every credential and audit row as text: where a key in the clear would show."""
    with factory() as session:
        rows = session.execute(text("SELECT * FROM workspace_credentials")).all()
        audit = session.execute(text("SELECT * FROM audit_entries")).all()
    return repr(rows) + repr(audit)


def test_a_key_is_stored_sealed_and_read_back_for_its_workspace_only(
    keys: WorkspaceKeys, session_factory: sessionmaker[Session]
) -> None:
    replaced = keys.set("T1", KEY_A, by="U1", models_visible=12)

    assert replaced is False
    assert keys.api_keys(["T1", "T2"]) == {"T1": KEY_A}
    assert KEY_A not in everything_stored(session_factory)
    assert KEY_A[-16:] not in everything_stored(session_factory)
    status = keys.status("T1")
    assert status is not None and status.set_by == "U1"
    assert keys.status("T2") is None


def test_setting_replacing_and_removing_are_audited_without_the_key(
    keys: WorkspaceKeys, session_factory: sessionmaker[Session]
) -> None:
    keys.set("T1", KEY_A, by="U1", models_visible=3)
    assert keys.set("T1", KEY_B, by="U2", models_visible=5) is True
    assert keys.remove("T1", by="U1") is True
    assert keys.remove("T1", by="U1") is False

    with session_factory() as session:
        entries = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [(e.actor, e.action, e.subject, (e.detail or {}).get("change")) for e in entries] == [
        ("U1", "settings.changed", "openai_api_key", "set"),
        ("U2", "settings.changed", "openai_api_key", "replaced"),
        ("U1", "settings.changed", "openai_api_key", "removed"),
    ]
    assert keys.api_keys(["T1"]) == {}


def test_a_new_key_forgets_the_files_uploaded_under_the_old_one(
    keys: WorkspaceKeys, session_factory: sessionmaker[Session]
) -> None:
    with session_factory.begin() as session:
        for workspace in ("T1", "T2"):
            session.add(dataset_row(workspace, workspace * 32, provider_file_id="file-old"))

    keys.set("T1", KEY_A, by="U1", models_visible=1)

    with session_factory() as session:
        files = dict(session.execute(select(Dataset.workspace_id, Dataset.provider_file_id)).all())
    assert files == {"T1": None, "T2": "file-old"}


def test_a_key_sealed_under_another_secret_is_reported_not_guessed(
    session_factory: sessionmaker[Session], keys: WorkspaceKeys
) -> None:
    keys.set("T1", KEY_A, by="U1", models_visible=1)
    other = WorkspaceKeys(
        session_factory, SecretBox([new_secret_key()]), audit=AuditLog(session_factory)
    )

    assert other.api_keys(["T1"]) == {"T1": None}


def test_rotation_reseals_every_key_under_the_first_secret(
    session_factory: sessionmaker[Session],
) -> None:
    old, new = new_secret_key(), new_secret_key()
    audit = AuditLog(session_factory)
    before_rotation = WorkspaceKeys(session_factory, SecretBox([old]), audit=audit)
    before_rotation.set("T1", KEY_A, by="U1", models_visible=1)
    before_rotation.set("T2", KEY_B, by="U1", models_visible=1)
    with session_factory() as session:
        before = set(session.scalars(select(WorkspaceCredential.sealed_openai_key)))

    assert WorkspaceKeys(session_factory, SecretBox([new, old]), audit=audit).rotate() == 2

    after_only = WorkspaceKeys(session_factory, SecretBox([new]), audit=audit)
    assert after_only.api_keys(["T1", "T2"]) == {"T1": KEY_A, "T2": KEY_B}
    with session_factory() as session:
        assert not before & set(session.scalars(select(WorkspaceCredential.sealed_openai_key)))


def test_without_a_secret_key_nothing_can_be_stored(session_factory: sessionmaker[Session]) -> None:
    keys = WorkspaceKeys(session_factory, None, audit=AuditLog(session_factory))

    assert not keys.enabled
    assert keys.api_keys(["T1"]) == {}
    with pytest.raises(KeysDisabledError, match="TUNEBOT_SECRET_KEY"):
        keys.set("T1", KEY_A, by="U1", models_visible=1)


@pytest.mark.parametrize(
    ("pasted", "complaint"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("sk-admin-" + "x" * 40, "admin key"),
        ("sk-proj-abc def" + "x" * 30, "without spaces"),
        ("sk-proj-abc\n" + "x" * 30, "without spaces"),
        ("short", "20-512"),
        ("Here is my key: sk-proj-" + "x" * 30, "without spaces"),
    ],
)
def test_what_cannot_be_a_key_is_refused_with_the_reason(pasted: str, complaint: str) -> None:
    with pytest.raises(KeyShapeError, match=complaint):
        checked_shape(pasted)


def test_a_pasted_key_loses_the_space_around_it() -> None:
    assert checked_shape(f"  {KEY_A}\n") == KEY_A
