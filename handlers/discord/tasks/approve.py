"""After an admin's Approve: submit the job through the ordinary start path and announce it;
after Reject: tell the requester. The decision itself was taken (and this task written) in one
transaction by the click's listener."""

from __future__ import annotations

from typing import Any

import discord

from finetuning.jobs import JobRecord
from finetuning.provider import ProviderError
from finetuning.tasks import RetryLaterError
from finetuning.team.approvals import Decision, RequestMessage
from handlers.discord import calls
from handlers.discord.deps import DiscordDeps
from handlers.discord.render.jobs import failed_to_start_embed, job_started_embed, mention
from handlers.discord.render.team import decision_embed
from handlers.discord.tasks.ask_admins import show_decision
from handlers.discord.tasks.where import where_of

PEOPLE = discord.AllowedMentions(users=True, everyone=False, roles=False)


def decision_payload(
    *,
    workspace: str,
    job_id: int,
    decision: Decision,
    by: str,
    waiting: str | None,
    clicked: str | None = None,
) -> dict[str, Any]:
    """`waiting`: the requester's waiting message, the job's message when the admin clicked;
    `clicked`: the request clicked, which the click's answer already shows the decision on."""
    return {
        "workspace": workspace,
        "job_id": job_id,
        "decision": decision.value,
        "by": by,
        "waiting": waiting,
        "clicked": clicked,
    }


def run_decision(deps: DiscordDeps, payload: dict[str, Any]) -> None:
    job_id = int(payload["job_id"])
    decision = Decision(payload["decision"])
    by = mention(payload["by"])
    job = deps.jobs.get(payload["workspace"], f"job-{job_id}")
    where = where_of(job, payload)
    requests = deps.approvals.requests(job.id)
    _show_on_requests(deps, job, payload, requests)
    asked_in = {request.ts for request in requests}
    if decision is not Decision.APPROVED:
        rejected = f"⛔ {job.short_id} was rejected by {by}."
        _edit_waiting(deps, where, asked_in, payload.get("waiting"), rejected)
        if where is not None:
            text = (
                f"⛔ {mention(job.started_by)}, {job.short_id} was rejected by {by}. "
                "Nothing was started or spent."
            )
            deps.bridge.call(lambda c: calls.send(c, where, content=text, allowed_mentions=PEOPLE))
        return
    try:
        job = deps.approvals.submit(job_id).job
    except ProviderError as error:
        if error.retryable:
            raise RetryLaterError(error.message) from error
        if where is not None:
            embed = failed_to_start_embed(error.message, error.hint)
            deps.bridge.call(lambda c: calls.send(c, where, embed=embed))
        return
    shown = job.status_message_ts
    if where is None or (shown is not None and shown not in asked_in | {payload.get("waiting")}):
        return  # announced by an earlier run of this task
    text = f"✅ {mention(job.started_by)}, {job.short_id} was approved by {by}."
    embed = job_started_embed(job, deps.command)
    posted = deps.bridge.call(
        lambda c: calls.send(c, where, content=text, embed=embed, allowed_mentions=PEOPLE)
    )
    deps.jobs.mark_announced(job.id, str(posted.id))
    approved = f"✅ {job.short_id} was approved by {by}."
    _edit_waiting(deps, where, asked_in, payload.get("waiting"), approved)


def _edit_waiting(
    deps: DiscordDeps,
    where: str | None,
    asked_in: set[str],
    waiting: str | None,
    text: str,
) -> None:
    """The requester's waiting message says what was decided; not when it was the request
    itself (in the thread, one of `asked_in`), which already shows the decision."""
    if waiting is None or where is None or waiting in asked_in:
        return
    deps.bridge.call(lambda c: calls.edit(c, where, waiting, content=text))


def _show_on_requests(
    deps: DiscordDeps, job: JobRecord, payload: dict[str, Any], requests: list[RequestMessage]
) -> None:
    """Every request message but the one clicked (the click's answer showed it there) shows
    the decision instead of its buttons: the other admins' DMs, in particular."""
    embed = decision_embed(job, Decision(payload["decision"]), payload["by"])
    for request in requests:
        if request.ts != payload.get("clicked"):
            show_decision(deps, request, embed)


def show_withdrawal(deps: DiscordDeps, job: JobRecord) -> None:
    """A job cancelled while it waited for approval: each request shows "withdrawn" instead of
    its buttons (the admins' DMs too), and the requester's waiting message says so. Edits
    only, so a retried task repeats them harmlessly. Nothing for any other job."""
    decision, by = deps.approvals.outcome(job)
    if decision is not Decision.WITHDRAWN:
        return
    requests = deps.approvals.requests(job.id)
    embed = decision_embed(job, decision, by)
    for request in requests:
        show_decision(deps, request, embed)
    who = f" by {mention(by)}" if by else ""
    _edit_waiting(
        deps,
        where_of(job, {}),
        {request.ts for request in requests},
        job.status_message_ts,
        f"↩️ {job.short_id} was withdrawn{who}: nothing was started or spent.",
    )
