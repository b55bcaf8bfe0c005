"""Asking the admins to approve a job: where the request goes, each message once.

The request goes to DISCORD_ADMIN_CHANNEL, else as a direct message to each TUNEBOT_ADMINS
person, else (nobody named, or nobody reachable) into the requester's thread, where an admin
can click, as on Slack. Every request message is recorded (`Approvals.record_request`) right
after it is posted, so a retried task asks nobody twice and the decision task can show the
decision on each of them.
"""

from __future__ import annotations

import logging
from typing import Any

import discord

from finetuning.jobs import JobRecord
from finetuning.platforms import Platform, people_on
from finetuning.team.approvals import RequestMessage
from handlers.discord import calls
from handlers.discord.deps import DiscordDeps
from handlers.discord.render.jobs import mention
from handlers.discord.render.team import approval_request_embed, decision_embed
from handlers.discord.render.views import buttons
from handlers.discord.tasks.answers import tell
from handlers.discord.tasks.where import where_of

log = logging.getLogger(__name__)

NOBODY = discord.AllowedMentions.none()
"""The waiting message names the requester without pinging them: they just asked."""


def request_approval(deps: DiscordDeps, job: JobRecord, payload: dict[str, Any]) -> None:
    """Tell the requester the job waits, then ask the admins: each message once, on a retry too.

    The order makes the quickest click safe. A click acts on what the database holds then: the
    decision task announces the start unless the job's message is already something other than
    the waiting message or a request. So the waiting message is recorded before any button
    exists; in the thread, the request is that message, its buttons added only once recorded.
    A request posted elsewhere can be clicked before it is recorded: a decision taken in that
    moment is shown on it here (`_show_decision_taken_meanwhile`).
    """
    where = where_of(job, payload)
    recorded = deps.approvals.requests(job.id)
    admins = [] if deps.admin_channel else people_on(Platform.DISCORD, deps.policy.admins)
    embed = approval_request_embed(job, deps.approvals.threshold_usd)
    view = buttons(("approve", job.id), ("reject", job.id), workspace=job.workspace_id)
    waiting_id = job.status_message_ts
    if where is not None and waiting_id is None:
        text = _waiting_text(job, deps.admin_channel, directly=bool(admins))
        extra: dict[str, Any] = {} if deps.admin_channel or admins else {"embed": embed}
        waiting = deps.bridge.call(
            lambda c: calls.send(c, where, content=text, allowed_mentions=NOBODY, **extra)
        )
        waiting_id = str(waiting.id)
        deps.jobs.mark_announced(job.id, waiting_id)
    asked = {request.channel for request in recorded}
    posted: list[RequestMessage] = []
    if deps.admin_channel:
        target = str(deps.admin_channel)
        if target not in asked:
            sent = deps.bridge.call(lambda c: calls.send(c, target, embed=embed, view=view))
            posted.append(_record(deps, job, target, str(sent.id)))
    elif where is None or where not in asked:
        for admin in admins:
            request = _ask_directly(deps, job, admin, asked, embed, view)
            if request is not None:
                posted.append(request)
    if where is not None and waiting_id is not None and not recorded and not posted:
        # Nobody named, or nobody reachable: the admins who see this thread decide here, on
        # buttons added only now that the message is recorded.
        _record(deps, job, where, waiting_id)
        text = _waiting_text(job, None, directly=False)
        message = waiting_id
        deps.bridge.call(
            lambda c: calls.edit(c, where, message, content=text, embed=embed, view=view)
        )
    _show_decision_taken_meanwhile(deps, job, posted)
    tell(deps, payload, f"✋ {job.short_id} waits for an admin's approval.")


def _waiting_text(job: JobRecord, admin_channel: int | None, *, directly: bool) -> str:
    where = (
        f" in <#{admin_channel}>"
        if admin_channel
        else " (the admins were asked by direct message)"
        if directly
        else ""
    )
    return f"✋ {mention(job.started_by)}, {job.short_id} waits for an admin's approval{where}."


def _record(deps: DiscordDeps, job: JobRecord, channel: str, message: str) -> RequestMessage:
    deps.approvals.record_request(job.id, channel, message)
    return RequestMessage(channel, message)


def _ask_directly(
    deps: DiscordDeps,
    job: JobRecord,
    admin: str,
    asked: set[str],
    embed: discord.Embed,
    view: discord.ui.View,
) -> RequestMessage | None:
    """One admin's request in their DMs, unless an earlier run sent it; None when Discord
    refuses (DMs off, the bot blocked, no server shared: 50007; no such user: 10013), which is
    that admin's choice, not a failure worth retrying."""
    try:
        dm = deps.bridge.call(lambda c: calls.open_dm(c, admin))
        channel = str(dm.id)
        if channel in asked:
            return None
        sent = deps.bridge.call(lambda c: calls.send(c, channel, embed=embed, view=view))
    except (discord.Forbidden, discord.NotFound) as refused:
        log.info("approval request for %s not sent to admin %s: %s", job.short_id, admin, refused)
        return None
    return _record(deps, job, channel, str(sent.id))


def _show_decision_taken_meanwhile(
    deps: DiscordDeps, job: JobRecord, posted: list[RequestMessage]
) -> None:
    """Show a decision on the requests this run posted, if one was taken before they were
    recorded: the decision task, reading the records, may have missed them. Read after the
    records were written, so either the decision task sees a record or this sees the decision
    (both editing is harmless)."""
    if not posted:
        return
    current = deps.jobs.get(job.workspace_id, job.short_id)
    decision, by = deps.approvals.outcome(current)
    if decision is None:
        return
    for request in posted:
        show_decision(deps, request, decision_embed(current, decision, by))


def show_decision(deps: DiscordDeps, request: RequestMessage, embed: discord.Embed) -> None:
    """A request message shows the decision instead of its buttons; one that is gone (deleted,
    or a DM the admin closed to the bot) is not worth a retry."""
    channel, message = request.channel, request.ts
    try:
        deps.bridge.call(
            lambda c: calls.edit(c, channel, message, content=None, embed=embed, view=None)
        )
    except discord.HTTPException as exc:
        log.warning("could not show the decision on %s/%s: %s", request.channel, request.ts, exc)
