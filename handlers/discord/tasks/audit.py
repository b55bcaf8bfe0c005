"""`/finetune audit [entries] [csv]`: the audit log, for admins only, answered privately.

A durable task like the other answers that may take a while: the CSV of ninety days can be
large, and it goes out as an ephemeral attachment through the interaction's webhook, which only
the admin who asked sees (never into the channel, which others read). When the interaction has
expired the file is not posted anywhere: `calls.answer` drops a private attachment rather than
show it to a channel.
"""

from __future__ import annotations

import io
from typing import Any

import discord

from finetuning.team import Action
from handlers.common.audit_request import AuditRequest, audit_export
from handlers.discord import calls
from handlers.discord.deps import DiscordDeps
from handlers.discord.render.audit import audit_embed
from handlers.discord.tasks.answers import refused


def audit_payload(
    *,
    request: AuditRequest,
    workspace: str,
    channel: str | None,
    thread: str | None,
    person: dict[str, Any],
    interaction: dict[str, Any],
) -> dict[str, Any]:
    return {
        "entries": request.entries,
        "csv": request.csv,
        "workspace": workspace,
        "channel": channel,
        "thread": thread,
        "person": person,
        "interaction": interaction,
    }


def run_audit(deps: DiscordDeps, payload: dict[str, Any]) -> None:
    if refused(deps, payload, Action.AUDIT):
        return
    workspace = payload["workspace"]
    request = AuditRequest(int(payload["entries"]), bool(payload["csv"]))
    fallback = payload.get("thread") or payload.get("channel")
    if request.csv:
        export = audit_export(deps.audit, workspace)
        deps.bridge.call(
            lambda c: calls.answer(
                c,
                payload.get("interaction"),
                fallback,
                content=f"📥 {export.about}",
                files=[discord.File(io.BytesIO(export.content), filename=export.filename)],
            )
        )
        return
    embed = audit_embed(deps.audit.recent(workspace, limit=request.entries), deps.command)
    deps.bridge.call(
        lambda c: calls.answer(c, payload.get("interaction"), fallback, embeds=[embed])
    )
