"""Starting a job for `/finetune start` or the Start modal, and announcing it in the thread.

The announcement is an ordinary channel message (not the interaction's answer), so the
follower can edit it in place for as long as the job runs, long after the interaction's token.
"""

from __future__ import annotations

from typing import Any

import discord

from finetuning.jobs import JobRecord, StartRefusedError, StartRequest
from finetuning.provider import ProviderError
from finetuning.tasks import RetryLaterError
from finetuning.team import Action
from handlers.discord import calls
from handlers.discord.deps import DiscordDeps
from handlers.discord.people import person_from
from handlers.discord.render.jobs import failed_to_start_embed, job_started_embed, mention
from handlers.discord.render.team import approval_request_embed
from handlers.discord.render.views import buttons
from handlers.discord.tasks.answers import refused, tell

NOBODY = discord.AllowedMentions.none()
"""The waiting message names the requester without pinging them: they just asked."""


def start_payload(
    *,
    key: str,
    workspace: str,
    channel: str | None,
    thread: str | None,
    person: dict[str, Any],
    fields: dict[str, Any],
    interaction: dict[str, Any] | None,
) -> dict[str, Any]:
    """The task payload: plain JSON, so the task survives a restart."""
    return {
        "key": key,
        "workspace": workspace,
        "channel": channel,
        "thread": thread,
        "person": person,
        "fields": fields,
        "interaction": interaction,
    }


def run_start(deps: DiscordDeps, payload: dict[str, Any]) -> None:
    fields = payload["fields"]
    person = person_from(payload["person"])
    request = StartRequest(
        key=payload["key"],
        workspace_id=payload["workspace"],
        channel_id=payload.get("channel"),
        requested_by=person.user_id,
        dataset_ref=fields.get("dataset"),
        model=fields.get("model"),
        epochs=fields.get("epochs"),
        suffix=fields.get("suffix"),
        validation_ref=fields.get("validation"),
        seed=fields.get("seed"),
    )
    if refused(deps, payload, Action.START):
        return
    try:
        outcome = deps.jobs.start(request)
    except StartRefusedError as refusal:
        tell(deps, payload, f"⛔ Not started: {refusal.message}. {refusal.hint}")
        return
    except ProviderError as error:
        if error.retryable:
            raise RetryLaterError(error.message) from error
        _announce(
            deps,
            deps.jobs.by_key(request.key),
            payload,
            failed_to_start_embed(error.message, error.hint),
        )
        return
    job = outcome.job
    if job.status_message_ts is not None:
        return  # announced by an earlier run of this task
    if job.status == "awaiting_approval":
        request_approval(deps, job, payload)
        return
    if job.status == "failed":
        embed = failed_to_start_embed(job.error_message or "refused", None)
    else:
        embed = job_started_embed(job, deps.command)
    _announce(deps, job, payload, embed)


def where_of(job: JobRecord | None, payload: dict[str, Any]) -> str | None:
    """Where a job's messages go: its dataset's thread, else the channel it was asked in."""
    if job is not None and (job.thread_ts or job.channel_id):
        return job.thread_ts or job.channel_id
    found = payload.get("thread") or payload.get("channel")
    return str(found) if found else None


def _announce(
    deps: DiscordDeps, job: JobRecord | None, payload: dict[str, Any], embed: discord.Embed
) -> None:
    """Post about the job once, remember the message (edited in place later), and answer the
    interaction briefly."""
    where = where_of(job, payload)
    if where is None:
        tell(deps, payload, embed.description or "")
        return
    posted = deps.bridge.call(lambda c: calls.send(c, where, embed=embed))
    if job is not None:
        deps.jobs.mark_announced(job.id, str(posted.id))
    link = posted.jump_url
    short = job.short_id if job is not None else "the job"
    tell(deps, payload, f"{embed.title or short}: {link}")


def request_approval(deps: DiscordDeps, job: JobRecord, payload: dict[str, Any]) -> None:
    """Tell the requester the job waits, then ask the admins (in DISCORD_ADMIN_CHANNEL, else in
    the requester's thread, where an admin can click): each message once, on a retry too.

    The order makes the quickest click safe. A click acts on what the database holds then: the
    decision task announces the start unless the job's message is already something other than
    the waiting message or a request. So the waiting message is recorded before any button
    exists; in the thread, the request is that message, its buttons added only once recorded.
    """
    where = where_of(job, payload)
    target = str(deps.admin_channel) if deps.admin_channel else where
    asked = {request.channel for request in deps.approvals.requests(job.id)}
    embed = approval_request_embed(job, deps.approvals.threshold_usd)
    view = buttons(("approve", job.id), ("reject", job.id))
    waiting_id = job.status_message_ts
    if where is not None and waiting_id is None:
        text = f"✋ {mention(job.started_by)}, {job.short_id} waits for an admin's approval" + (
            f" in <#{deps.admin_channel}>." if deps.admin_channel else "."
        )
        extra: dict[str, Any] = {"embed": embed} if target == where else {}
        waiting = deps.bridge.call(
            lambda c: calls.send(c, where, content=text, allowed_mentions=NOBODY, **extra)
        )
        waiting_id = str(waiting.id)
        deps.jobs.mark_announced(job.id, waiting_id)
    if target is not None and target not in asked:
        if target == where and waiting_id is not None:
            deps.approvals.record_request(job.id, target, waiting_id)
            message = waiting_id
            deps.bridge.call(lambda c: calls.edit(c, target, message, view=view))
        else:
            posted = deps.bridge.call(lambda c: calls.send(c, target, embed=embed, view=view))
            deps.approvals.record_request(job.id, target, str(posted.id))
    tell(deps, payload, f"✋ {job.short_id} waits for an admin's approval.")
