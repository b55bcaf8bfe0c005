"""The audit log as Slack text: one line per entry, newest first."""

from __future__ import annotations

from finetuning.audit import SYSTEM, AuditEntryRecord
from handlers.common.audit_request import CSV_DAYS
from handlers.slack.blocks.text import (
    code,
    escape_mrkdwn,
    mention,
    one_line,
    slack_date,
    truncate,
    usd,
)

DETAIL_CHARS = 80
"""How much of an entry's detail a line shows; the CSV export has all of it."""


def audit_text(entries: list[AuditEntryRecord], command: str = "/finetune") -> str:
    """mrkdwn for `/finetune audit`: when (in each reader's time zone), who, what, on what, cost."""
    if not entries:
        return "The audit log is empty: nothing has changed here yet."
    lines = [
        f"*Audit log: the last {len(entries)} "
        f"{'entry' if len(entries) == 1 else 'entries'}, newest first*"
    ]
    lines.extend(audit_line(entry) for entry in entries)
    lines.append(
        f"_`{escape_mrkdwn(command)} audit csv` sends the last {CSV_DAYS} days to your DM._"
    )
    return "\n".join(lines)


def audit_line(entry: AuditEntryRecord) -> str:
    who = "_system_" if entry.actor == SYSTEM else mention(entry.actor)
    parts = [slack_date(entry.created_at), who, code(entry.action), code(entry.subject)]
    if entry.cost_usd is not None:
        parts.append(usd(entry.cost_usd))
    detail = _detail(entry)
    if detail:
        parts.append(f"({detail})")
    return "• " + " ".join(parts)


def _detail(entry: AuditEntryRecord) -> str:
    shown = ", ".join(
        f"{key}={value}" for key, value in entry.detail.items() if value is not None and value != ""
    )
    return truncate(escape_mrkdwn(one_line(shown)), DETAIL_CHARS)
