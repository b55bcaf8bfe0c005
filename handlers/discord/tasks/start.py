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
from handlers.discord.render.jobs import failed_to_start_embed, job_started_embed
from handlers.discord.tasks.answers import refused, tell
from handlers.discord.tasks.ask_admins import request_approval
from handlers.discord.tasks.where import where_of


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
    if job.status == "awaiting_approval":
        # Each of its messages is posted once, so a run cut short (an admin's DMs half sent)
        # finishes asking on the retry.
        request_approval(deps, job, payload)
        return
    if job.status_message_ts is not None:
        return  # announced by an earlier run of this task
    if job.status == "failed":
        embed = failed_to_start_embed(job.error_message or "refused", None)
    else:
        embed = job_started_embed(job, deps.command)
    _announce(deps, job, payload, embed)


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
