"""Setting and removing this server's own OpenAI key, as durable tasks.

The modal's submission is acknowledged ("thinking…") and the key travels here sealed, in the
payload field whose `sealed_` prefix has the task queue drop it once the task ends
(`handlers.common.workspace_key`); the answer says whether it was saved and why not, never the
key. Whether the person is an admin is asked again here: the modal may have stayed open while
their roles changed.
"""

from __future__ import annotations

from typing import Any

from finetuning.team import Action
from handlers.common.workspace_key import (
    REMOVE,
    SEALED_KEY,
    SET,
    KeySaved,
    check_and_save,
    refused_text,
    remove_key,
    saved_text,
)
from handlers.discord.deps import DiscordDeps
from handlers.discord.people import person_from
from handlers.discord.tasks.answers import refused, tell

PLACE = "server"


def key_payload(
    *,
    workspace: str,
    channel: str | None,
    thread: str | None,
    person: dict[str, Any],
    interaction: dict[str, Any],
    sealed: str | None = None,
) -> dict[str, Any]:
    """A removal without `sealed`; a new key with it (sealed by `WorkspaceKeys.seal`)."""
    payload: dict[str, Any] = {
        "action": REMOVE if sealed is None else SET,
        "workspace": workspace,
        "channel": channel,
        "thread": thread,
        "person": person,
        "interaction": interaction,
    }
    if sealed is not None:
        payload[SEALED_KEY] = sealed
    return payload


def run_workspace_key(deps: DiscordDeps, payload: dict[str, Any]) -> None:
    workspace = payload["workspace"]
    person = person_from(payload["person"])
    if refused(deps, payload, Action.CONFIGURE):
        return
    if payload["action"] == REMOVE:
        removed, said = remove_key(
            deps.keys, deps.accounts, workspace, person.user_id, place=PLACE, command=deps.command
        )
        tell(deps, payload, ("🗑️ " if removed else "❔ ") + said)
        return
    outcome = check_and_save(
        deps.keys, deps.accounts, workspace, person.user_id, payload[SEALED_KEY]
    )
    if isinstance(outcome, KeySaved):
        tell(deps, payload, f"✅ {saved_text(outcome, PLACE)}")
    else:
        tell(deps, payload, f"❌ {refused_text(outcome)}\n*{outcome.hint}*")
