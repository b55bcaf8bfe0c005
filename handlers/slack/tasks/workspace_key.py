"""Setting and removing a workspace's own OpenAI key, as durable tasks.

A key is checked with OpenAI before it is stored, which takes longer than a modal's three
seconds: the submission is acknowledged with a "checking" view and the key travels to this
task sealed (`handlers.common.workspace_key`). Whether the person is an admin is asked again
here: the modal may have stayed open while their role changed.
"""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.views import View
from tenacity import retry, retry_if_exception, stop_after_delay, wait_fixed

from finetuning.team import Action
from handlers.common.workspace_key import (
    REMOVE,
    SEALED_KEY,
    SET,
    KeyRefused,
    KeySaved,
    check_and_save,
    remove_key,
)
from handlers.slack.blocks.key_modal import checking_view_id, refused_view, saved_view
from handlers.slack.deps import SlackDeps
from handlers.slack.slack_errors import error_code, is_transient
from handlers.slack.tasks.command import respond_privately
from handlers.slack.tasks.slack_calls import slack_transient_as_retry
from handlers.slack.team import team_refusal


def set_key_payload(
    *, team: str, user: str, channel: str, view_id: str, sealed: str
) -> dict[str, Any]:
    return {
        "action": SET,
        "team": team,
        "user": user,
        "channel": channel,
        "view_id": view_id,
        SEALED_KEY: sealed,
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
            removed, said = remove_key(
                deps.keys, deps.accounts, team, user, place="workspace", command=deps.command
            )
            refusal = (":wastebasket: " if removed else ":grey_question: ") + said
        with slack_transient_as_retry():
            respond_privately(deps, payload, refusal)
        return
    if refusal is not None:
        _show(deps, payload, refused_view(KeyRefused("you are not an admin.", refusal)))
        return
    outcome = check_and_save(deps.keys, deps.accounts, team, user, payload[SEALED_KEY])
    if isinstance(outcome, KeySaved):
        _show(deps, payload, saved_view(outcome))
    else:
        _show(deps, payload, refused_view(outcome))


CHECKING_VIEW_WAIT_SECONDS = 5.0
"""How long the "checking" view may take to appear before the modal counts as closed: Slack
shows it as soon as it reads the submission's answer, so seconds are plenty."""


def _show(deps: SlackDeps, payload: dict[str, Any], view: View) -> None:
    """Replace the modal's "checking" view; if the person closed the modal, tell them in the
    channel they asked from, privately."""
    with slack_transient_as_retry():
        try:
            _replace_checking_view(
                deps.clients.for_team(payload["team"]), checking_view_id(payload["view_id"]), view
            )
        except SlackApiError as exc:
            if is_transient(exc):
                raise
            summary = " ".join(
                str(block.get("text", {}).get("text", "")) for block in view.to_dict()["blocks"]
            )
            respond_privately(deps, {**payload, "response_url": None}, summary.strip())


def _not_there_yet(error: BaseException) -> bool:
    return isinstance(error, SlackApiError) and error_code(error) == "not_found"


@retry(
    retry=retry_if_exception(_not_there_yet),
    wait=wait_fixed(0.25),
    stop=stop_after_delay(CHECKING_VIEW_WAIT_SECONDS),
    reraise=True,
)
def _replace_checking_view(client: WebClient, external_id: str, view: View) -> None:
    """`not_found` is retried: the "checking" view may not be up yet, or the modal is closed,
    and only time tells the two apart."""
    client.views_update(external_id=external_id, view=view)
