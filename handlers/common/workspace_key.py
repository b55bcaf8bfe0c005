"""Setting and removing a workspace's own OpenAI key: the steps every front end takes.

A key is checked with OpenAI before it is stored, which takes longer than an interaction may
wait: the front end seals it at once and hands it to a durable task in the payload field
`SEALED_KEY`, whose `sealed_` prefix has the task queue drop it once the task ends. The key is
never logged nor shown back: what the answer says is whether it was saved and why not.

The front ends own the asking (a Slack modal, a Discord modal) and the answer's look; the checks,
the storing (audited by the core) and the sentences are here, so both say the same.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from finetuning.credentials import Accounts, SecretBoxError, WorkspaceKeys
from finetuning.provider import ProviderError

log = logging.getLogger(__name__)

SET = "set"
REMOVE = "remove"
SEALED_KEY = "sealed_key"
"""The payload field that carries the key to the task, sealed; dropped when the task ends."""


def key_action(argument: str) -> str | None:
    """SET for `key`, REMOVE for `key remove`, None for anything else (a usage error)."""
    word = argument.strip().lower()
    if not word:
        return SET
    return REMOVE if word == REMOVE else None


def disabled_text(place: str) -> str:
    """Why no `place` (workspace, server) can have a key of its own on this deployment."""
    return (
        f"A {place} cannot set a key of its own here: whoever runs tunebot must set "
        "TUNEBOT_SECRET_KEY first, so that keys are stored encrypted."
    )


@dataclass(frozen=True)
class KeySaved:
    """The key works and is stored; `models_visible` is what checking it found."""

    replaced: bool
    models_visible: int


@dataclass(frozen=True)
class KeyRefused:
    """The key was not stored: why (already redacted by the provider layer) and what to do."""

    message: str
    hint: str


def check_and_save(
    keys: WorkspaceKeys, accounts: Accounts, workspace_id: str, by: str, sealed: str
) -> KeySaved | KeyRefused:
    """Open the sealed key, check it with OpenAI, store it (audited as `settings.changed`).

    A refusal by OpenAI is not retried in the background: the person is waiting for the answer,
    and a key that fails now is better reported now than after minutes of "checking".
    """
    try:
        key = keys.unseal(sealed)
    except SecretBoxError:
        return KeyRefused(
            "tunebot's own secret key changed while the key was on its way.", "Paste it again."
        )
    try:
        models = accounts.check_key(key)
    except ProviderError as refused:
        return KeyRefused(refused.message, refused.hint)
    replaced = keys.set(workspace_id, key, by=by, models_visible=models)
    log.info(
        "workspace %s: OpenAI key %s by %s", workspace_id, "replaced" if replaced else "set", by
    )
    return KeySaved(replaced, models)


def saved_text(saved: KeySaved, place: str) -> str:
    verb = "replaced" if saved.replaced else "saved"
    models = f"{saved.models_visible:,} model{'' if saved.models_visible == 1 else 's'}"
    return (
        f"Key {verb}. It works: it can use {models}. From now on this {place} fine-tunes and "
        "talks to models in that key's OpenAI account."
    )


def refused_text(refused: KeyRefused) -> str:
    """The first line of a refusal; the front end adds `refused.hint` in its own emphasis."""
    return f"The key was not saved: {refused.message}"


def remove_key(
    keys: WorkspaceKeys, accounts: Accounts, workspace_id: str, by: str, *, place: str, command: str
) -> tuple[bool, str]:
    """Forget the key (audited by the core); (whether there was one, the answer's words)."""
    if not keys.remove(workspace_id, by=by):
        return False, f"This {place} has no key of its own to remove."
    if accounts.operator_fallback:
        after = "It now uses the key of whoever runs tunebot."
    else:
        after = f"Nothing can be fine-tuned until an admin sets a new one with `{command} key`."
    return True, f"This {place}'s OpenAI key is removed. {after}"
