"""`/finetune key [remove]` and the key modal's submission.

The modal opens inside the acknowledgement (its trigger expires in three seconds); the admin
check that gates it asks Slack at most once per person per ten minutes (`AdminDirectory`).
"""

from __future__ import annotations

import json
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from finetuning.team import Action
from handlers.common.workspace_key import REMOVE, disabled_text, key_action
from handlers.slack.blocks.key_modal import CALLBACK_ID, checking_view, key_modal, submitted_key
from handlers.slack.deps import SlackDeps
from handlers.slack.tasks import WORKSPACE_KEY
from handlers.slack.tasks.workspace_key import remove_key_payload, set_key_payload
from handlers.slack.team import team_refusal

DISABLED = ":lock: " + disabled_text("workspace")


def answer_key_command(
    deps: SlackDeps, ack: Ack, command: dict[str, Any], client: WebClient, argument: str
) -> None:
    """Open the modal for an admin, or take `remove` as a task; refuse anyone else."""
    team = str(command["team_id"])
    channel = str(command["channel_id"])
    user = str(command["user_id"])
    if not deps.keys.enabled:
        ack(text=DISABLED)
        return
    action = key_action(argument)
    if action is None:
        ack(text=f":warning: usage: `{deps.command} key` or `{deps.command} key remove`")
        return
    refusal = team_refusal(deps, Action.CONFIGURE, team, user, channel)
    if refusal is not None:
        ack(text=refusal)
        return
    if action == REMOVE:
        ack(text=":hourglass_flowing_sand: Removing the key…")
        deps.enqueue(
            WORKSPACE_KEY,
            f"key:{team}:{command['trigger_id']}",
            remove_key_payload(
                team=team, user=user, channel=channel, response_url=command.get("response_url")
            ),
        )
        return
    ack()
    client.views_open(
        trigger_id=command["trigger_id"],
        view=key_modal(
            deps.keys.status(team),
            operator_key=deps.accounts.operator_fallback,
            active_jobs=len(deps.jobs.recent(team, active_only=True, limit=100)),
            command=deps.command,
        ).to_dict()
        | {"private_metadata": json.dumps({"channel": channel})},
    )


def register(app: App, deps: SlackDeps) -> None:
    @app.view(CALLBACK_ID)
    def on_key_submitted(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        """A malformed key is refused under the field at once; a well-formed one is checked
        with OpenAI in a task while the modal says so."""
        view = body["view"]
        key = submitted_key(view["state"]["values"])
        if isinstance(key, dict):
            ack(response_action="errors", errors=key)
            return
        ack(response_action="update", view=checking_view(str(view["id"])))
        team = context.team_id or ""
        metadata = json.loads(view.get("private_metadata") or "{}")
        deps.enqueue(
            WORKSPACE_KEY,
            f"key:{team}:view:{view['id']}",
            set_key_payload(
                team=team,
                user=str(body["user"]["id"]),
                channel=str(metadata.get("channel") or ""),
                view_id=str(view["id"]),
                sealed=deps.keys.seal(key),
            ),
        )
