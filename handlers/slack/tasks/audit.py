"""`/finetune audit [N]` and `/finetune audit csv`: the audit log, for admins only.

Run as a durable task, not inside the acknowledgement: deciding who is an admin may ask Slack
(`users.info`), and the CSV is uploaded to the requester's DM, never to the channel the command
was typed in, which others can read.
"""

from __future__ import annotations

from typing import Any

from finetuning.team import Action
from handlers.common.audit_request import (
    CSV_DAYS,
    AuditUsageError,
    audit_export,
    parse_audit_request,
)
from handlers.slack.blocks.audit import audit_text
from handlers.slack.deps import SlackDeps
from handlers.slack.tasks.command import respond_privately
from handlers.slack.tasks.slack_calls import slack_transient_as_retry
from handlers.slack.team import team_refusal


def run_audit(deps: SlackDeps, payload: dict[str, Any]) -> None:
    team, user = payload["team"], payload["user"]
    with slack_transient_as_retry():
        refusal = team_refusal(deps, Action.AUDIT, team, user, None)
        if refusal is not None:
            respond_privately(deps, payload, refusal)
            return
        try:
            request = parse_audit_request(payload["argument"])
        except AuditUsageError as usage:
            respond_privately(deps, payload, f":warning: {usage}")
            return
        if request.csv:
            _send_csv(deps, team, user)
            text = f":inbox_tray: The audit log of the last {CSV_DAYS} days was sent to your DM."
        else:
            text = audit_text(deps.audit.recent(team, limit=request.entries), deps.command)
        respond_privately(deps, payload, text)


def _send_csv(deps: SlackDeps, team: str, user: str) -> None:
    export = audit_export(deps.audit, team)
    client = deps.clients.for_team(team)
    opened = client.conversations_open(users=user)
    client.files_upload_v2(
        channel=str(opened["channel"]["id"]),
        content=export.content,
        filename=export.filename,
        title=export.filename,
        initial_comment=export.about,
    )
