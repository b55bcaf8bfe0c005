"""Setting and removing a workspace's own OpenAI key, as durable tasks.

A key is checked with OpenAI before it is stored, which takes longer than a modal's three
seconds: the submission is acknowledged with a "checking" view and the key travels to this
task sealed (the payload field's `sealed_` prefix has the task queue drop it once the task
ends). Whether the person is an admin is asked again here: the modal may have stayed open
while their role changed.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.models.views import View

from finetuning.credentials import SecretBoxError
from finetuning.provider import ProviderError
from finetuning.team import Action
from handlers.slack.blocks.key_modal import refused_view, saved_view
from handlers.slack.deps import SlackDeps
from handlers.slack.slack_errors import is_transient
from handlers.slack.tasks.command import respond_privately
from handlers.slack.tasks.slack_calls import slack_transient_as_retry
from handlers.slack.team import team_refusal

log = logging.getLogger(__name__)

SET = "set"
REMOVE = "remove"


def set_key_payload(
    *, team: str, user: str, channel: str, view_id: str, sealed: str
) -> dict[str, Any]:
    return {
        "action": SET,
        "team": team,
        "user": user,
        "channel": channel,
        "view_id": view_id,
        "sealed_key": sealed,
    }


def remove_key_payload(
    *, team: str, user: str, channel: str, response_url: str | None
) -> dict[str, Any]:
    return {
        "action": REMOVE,
        "team": team,
        "user": user,
        "channel": channel,
        "response_url": response_url,
    }


def run_workspace_key(deps: SlackDeps, payload: dict[str, Any]) -> None:
    team, user = payload["team"], payload["user"]
    with slack_transient_as_retry():
        refusal = team_refusal(deps, Action.CONFIGURE, team, user, None)
    if payload["action"] == REMOVE:
        if refusal is None:
            removed = deps.keys.remove(team, by=user)
            refusal = (
                ":wastebasket: This workspace's OpenAI key is removed. " + _after_removal(deps)
                if removed
                else ":grey_question: This workspace has no key of its own to remove."
            )
        with slack_transient_as_retry():
            respond_privately(deps, payload, refusal)
        return
    if refusal is not None:
        _show(deps, payload, refused_view("you are not an admin.", refusal))
        return
    _show(deps, payload, _checked_and_saved(deps, team, user, payload["sealed_key"]))


def _checked_and_saved(deps: SlackDeps, team: str, user: str, sealed: str) -> View:
    try:
        key = deps.keys.unseal(sealed)
    except SecretBoxError:
        return refused_view(
            "tunebot's own secret key changed while the key was on its way.", "Paste it again."
        )
    try:
        models = deps.accounts.check_key(key)
    except ProviderError as refused:
        # Not retried in the background: the person is looking at the modal, and a key that
        # fails now is better reported now than after minutes of "checking".
        return refused_view(refused.message, refused.hint)
    replaced = deps.keys.set(team, key, by=user, models_visible=models)
    log.info("workspace %s: OpenAI key %s by %s", team, "replaced" if replaced else "set", user)
    return saved_view(replaced=replaced, models_visible=models)


def _show(deps: SlackDeps, payload: dict[str, Any], view: View) -> None:
    """Replace the modal's "checking" view; if the person closed the modal, tell them in the
    channel they asked from, privately."""
    with slack_transient_as_retry():
        try:
            deps.clients.for_team(payload["team"]).views_update(
                view_id=payload["view_id"], view=view
            )
        except SlackApiError as exc:
            if is_transient(exc):
                raise
            summary = " ".join(
                str(block.get("text", {}).get("text", "")) for block in view.to_dict()["blocks"]
            )
            respond_privately(deps, {**payload, "response_url": None}, summary.strip())


def _after_removal(deps: SlackDeps) -> str:
    if deps.accounts.operator_fallback:
        return "It now uses the key of whoever runs tunebot."
    return f"Nothing can be fine-tuned until an admin sets a new one with `{deps.command} key`."
