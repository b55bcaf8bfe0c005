"""`/finetune audit [N]` and `/finetune audit csv`: the audit log, for admins only.

Run as a durable task, not inside the acknowledgement: deciding who is an admin may ask Slack
(`users.info`), and the CSV is uploaded to the requester's DM, never to the channel the command
was typed in, which others can read.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from handlers.slack.blocks.audit import audit_text
from handlers.slack.deps import SlackDeps
from handlers.slack.tasks.command import respond_privately
from handlers.slack.tasks.slack_calls import slack_transient_as_retry
from storage.types import utcnow

DEFAULT_ENTRIES = 20
MAX_ENTRIES = 100
CSV_DAYS = 90
CSV = "csv"


class AuditUsageError(ValueError):
    """The argument is neither a count nor `csv`; the message says what is accepted."""


def audit_request(argument: str) -> int | str:
    """How many entries to show, or `csv`."""
    word = argument.strip().lower()
    if not word:
        return DEFAULT_ENTRIES
    if word == CSV:
        return CSV
    if word.isascii() and word.isdigit() and int(word) >= 1:
        return min(int(word), MAX_ENTRIES)
    raise AuditUsageError(
        f"usage: `audit [N]` (1 to {MAX_ENTRIES} entries, {DEFAULT_ENTRIES} by default) "
        "or `audit csv`"
    )


def run_audit(deps: SlackDeps, payload: dict[str, Any]) -> None:
    team, user = payload["team"], payload["user"]
    with slack_transient_as_retry():
        if not deps.admins.is_admin(team, user):
            respond_privately(
                deps,
                payload,
                ":lock: The audit log is for tunebot admins only. "
                f"Ask {deps.admins.contacts(team)} if you need to see it.",
            )
            return
        try:
            wanted = audit_request(payload["argument"])
        except AuditUsageError as usage:
            respond_privately(deps, payload, f":warning: {usage}")
            return
        if wanted == CSV:
            _send_csv(deps, team, user)
            text = f":inbox_tray: The audit log of the last {CSV_DAYS} days was sent to your DM."
        else:
            assert isinstance(wanted, int)
            text = audit_text(deps.audit.recent(team, limit=wanted), deps.command)
        respond_privately(deps, payload, text)


def _send_csv(deps: SlackDeps, team: str, user: str) -> None:
    now = utcnow()
    content = deps.audit.export_csv(team, since=now - timedelta(days=CSV_DAYS))
    client = deps.clients.for_team(team)
    opened = client.conversations_open(users=user)
    channel = str(opened["channel"]["id"])
    name = f"tunebot-audit-{now:%Y-%m-%d}.csv"
    client.files_upload_v2(
        channel=channel,
        content=content,
        filename=name,
        title=name,
        initial_comment=(
            f"The audit log of the last {CSV_DAYS} days, oldest first (times in UTC)."
        ),
    )
