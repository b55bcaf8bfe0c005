"""Each workspace's own OpenAI key: stored sealed, read back only to build its client.

Setting, replacing and removing a key are audited (`settings.changed`) in the same transaction
as the change, and the entry never carries the key, nor any part of it: an audit CSV is mailed
around, and the last four characters of a key narrow a leaked list down more than they help.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from finetuning.audit import AuditLog
from storage.models import Dataset, WorkspaceCredential
from storage.types import utcnow

from .secret_box import SecretBox, SecretBoxError

log = logging.getLogger(__name__)

SETTING = "openai_api_key"
"""The audit subject of a key change."""
_KEY_SHAPE = re.compile(r"^[\x21-\x7e]{20,512}$")
"""Printable ASCII without spaces: OpenAI's keys, and the bearer tokens of gateways in front of
it, all look like this; a paste with a line break or a sentence in it does not."""
_ADMIN_PREFIX = "sk-admin-"


class KeysDisabledError(RuntimeError):
    """No `TUNEBOT_SECRET_KEY`: per-workspace keys cannot be stored safely, so not at all."""


class KeyShapeError(ValueError):
    """What someone pasted cannot be an API key that fine-tunes; the message says why."""


@dataclass(frozen=True)
class KeyStatus:
    """That a workspace has a key of its own, who set it and when: never the key."""

    set_by: str
    set_at: datetime


def checked_shape(pasted: str) -> str:
    """The key in what was pasted (surrounding space removed), or KeyShapeError saying why not."""
    key = pasted.strip()
    if not key:
        raise KeyShapeError("Paste the key: it is empty.")
    if key.startswith(_ADMIN_PREFIX):
        raise KeyShapeError(
            "That is an admin key: it manages an organization but cannot fine-tune. Create a "
            "project key (platform.openai.com → API keys → Create new secret key)."
        )
    if not _KEY_SHAPE.match(key):
        raise KeyShapeError(
            "That does not look like an API key: a key is one word of 20-512 characters, "
            "without spaces or line breaks (OpenAI's start with `sk-`)."
        )
    return key


class WorkspaceKeys:
    """The sealed keys of every workspace; each call is scoped to one."""

    def __init__(
        self, factory: sessionmaker[Session], box: SecretBox | None, *, audit: AuditLog
    ) -> None:
        self._factory = factory
        self._box = box
        self._audit = audit

    @property
    def enabled(self) -> bool:
        """Whether keys can be stored at all (the operator set `TUNEBOT_SECRET_KEY`)."""
        return self._box is not None

    def set(self, workspace_id: str, api_key: str, *, by: str, models_visible: int) -> bool:
        """Store `api_key` as the workspace's, sealed; True when it replaced an earlier key.

        `models_visible` is what checking the key found, kept in the audit entry as evidence
        that the key worked when it was set.
        """
        box = self._require_box()
        sealed = box.seal(checked_shape(api_key))
        for attempt in (1, 2):
            try:
                with self._factory.begin() as session:
                    row = session.get(WorkspaceCredential, workspace_id, with_for_update=True)
                    replaced = row is not None
                    if row is None:
                        session.add(
                            WorkspaceCredential(
                                workspace_id=workspace_id, sealed_openai_key=sealed, set_by=by
                            )
                        )
                    else:
                        row.sealed_openai_key = sealed
                        row.set_by = by
                        row.set_at = utcnow()
                    _forget_uploaded_files(session, workspace_id)
                    self._audit.record_in(
                        session,
                        workspace_id,
                        by,
                        "settings.changed",
                        SETTING,
                        detail={
                            "change": "replaced" if replaced else "set",
                            "models_visible": models_visible,
                        },
                    )
                    return replaced
            except IntegrityError:
                # Two admins set a first key at the same moment: the second becomes a replace.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def seal(self, api_key: str) -> str:
        """`api_key` sealed, for the short trip through a durable task's payload."""
        return self._require_box().seal(api_key)

    def unseal(self, sealed: str) -> str:
        """What `seal` sealed; raises SecretBoxError when the secret key changed meanwhile."""
        return self._require_box().open(sealed)

    def remove(self, workspace_id: str, *, by: str) -> bool:
        """Forget the workspace's key; False when it had none (nothing is audited then)."""
        with self._factory.begin() as session:
            row = session.get(WorkspaceCredential, workspace_id, with_for_update=True)
            if row is None:
                return False
            session.delete(row)
            _forget_uploaded_files(session, workspace_id)
            self._audit.record_in(
                session, workspace_id, by, "settings.changed", SETTING, detail={"change": "removed"}
            )
            return True

    def status(self, workspace_id: str) -> KeyStatus | None:
        with self._factory() as session:
            row = session.get(WorkspaceCredential, workspace_id)
            return None if row is None else KeyStatus(row.set_by, row.set_at)

    def api_keys(self, workspace_ids: list[str]) -> dict[str, str | None]:
        """The keys of those of `workspace_ids` that have one, in one query (the follower asks
        for every workspace with an active job each cycle).

        None stands for a key that is stored but cannot be opened (the operator's secret key
        changed without the old one kept): that workspace must not fall back to another key.
        """
        if self._box is None or not workspace_ids:
            return {}
        with self._factory() as session:
            rows = session.execute(
                select(
                    WorkspaceCredential.workspace_id, WorkspaceCredential.sealed_openai_key
                ).where(WorkspaceCredential.workspace_id.in_(set(workspace_ids)))
            ).all()
        keys: dict[str, str | None] = {}
        for workspace, sealed in rows:
            try:
                keys[workspace] = self._box.open(sealed)
            except SecretBoxError:
                log.error("the OpenAI key of workspace %s cannot be opened", workspace)
                keys[workspace] = None
        return keys

    def rotate(self) -> int:
        """Reseal every stored key with the first secret key; returns how many."""
        box = self._require_box()
        with self._factory.begin() as session:
            rows = session.scalars(select(WorkspaceCredential).with_for_update()).all()
            for row in rows:
                row.sealed_openai_key = box.reseal(row.sealed_openai_key)
            return len(rows)

    def _require_box(self) -> SecretBox:
        if self._box is None:
            raise KeysDisabledError(
                "Workspace keys are off: the operator must set TUNEBOT_SECRET_KEY "
                "(`tunebot secrets new-key` makes one)."
            )
        return self._box


def _forget_uploaded_files(session: Session, workspace_id: str) -> None:
    """Files uploaded under the old key live in the old account, where the new key cannot
    reach them: the next job of each dataset uploads it again."""
    session.execute(
        update(Dataset)
        .where(Dataset.workspace_id == workspace_id, Dataset.provider_file_id.is_not(None))
        .values(provider_file_id=None)
    )
