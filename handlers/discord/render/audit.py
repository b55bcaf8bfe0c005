"""The audit log as a Discord embed: one line per entry, newest first.

Times are Discord timestamps (`<t:…:f>`), which every reader's client shows in their own zone.
Actors, subjects and details come from people (file names, suffixes), so they are escaped:
a dataset must not be able to format or forge the lines around it.
"""

from __future__ import annotations

from datetime import UTC, datetime

import discord

from finetuning.audit import SYSTEM, AuditEntryRecord
from handlers.common.audit_request import CSV_DAYS
from handlers.common.money import format_usd
from handlers.discord.render.conversation import code
from handlers.discord.render.limits import MAX_DESCRIPTION, cut
from handlers.discord.render.style import BRAND, QUIET

DETAIL_CHARS = 80
"""How much of an entry's detail a line shows; the CSV export has all of it."""


def audit_embed(entries: list[AuditEntryRecord], command: str) -> discord.Embed:
    """`/finetune audit`: when, who, what, on what, cost; as many lines as an embed holds."""
    if not entries:
        return discord.Embed(
            title="Audit log",
            colour=QUIET,
            description="The audit log is empty: nothing has changed here yet.",
        )
    lines: list[str] = []
    size = 0
    for entry in entries:
        line = audit_line(entry)
        if size + len(line) + 1 > MAX_DESCRIPTION:
            break
        lines.append(line)
        size += len(line) + 1
    shown = len(lines)
    embed = discord.Embed(
        title=f"Audit log: the last {shown} {'entry' if shown == 1 else 'entries'}, newest first",
        colour=BRAND,
        description="\n".join(lines),
    )
    footer = f"{command} audit csv: the last {CSV_DAYS} days as a file, every detail in it."
    if shown < len(entries):
        footer = f"{len(entries) - shown} older entries did not fit. " + footer
    embed.set_footer(text=footer)
    return embed


def audit_line(entry: AuditEntryRecord) -> str:
    who = "*system*" if entry.actor == SYSTEM else f"<@{entry.actor}>"
    parts = [_when(entry.created_at), who, code(entry.action), code(entry.subject)]
    if entry.cost_usd is not None:
        parts.append(discord.utils.escape_markdown(format_usd(entry.cost_usd)))
    detail = _detail(entry)
    if detail:
        parts.append(f"({detail})")
    return "• " + " ".join(parts)


def _when(moment: datetime) -> str:
    """A naive datetime is taken as UTC, which is how storage keeps them."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return f"<t:{int(aware.timestamp())}:f>"


def _detail(entry: AuditEntryRecord) -> str:
    shown = ", ".join(
        f"{key}={value}" for key, value in entry.detail.items() if value is not None and value != ""
    )
    escaped = discord.utils.escape_mentions(discord.utils.escape_markdown(" ".join(shown.split())))
    return cut(escaped, DETAIL_CHARS)
