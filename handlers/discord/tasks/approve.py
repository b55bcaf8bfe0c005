"""After an admin's Approve: submit the job through the ordinary start path and announce it;
after Reject: tell the requester. The decision itself was taken (and this task written) in one
transaction by the click's listener."""

from __future__ import annotations

from typing import Any

from finetuning.provider import ProviderError
from finetuning.tasks import RetryLaterError
from finetuning.team.approvals import Decision
from handlers.discord import calls
from handlers.discord.deps import DiscordDeps
from handlers.discord.render.jobs import failed_to_start_embed, job_started_embed, mention
from handlers.discord.tasks.start import where_of


def decision_payload(*, workspace: str, job_id: int, decision: Decision, by: str) -> dict[str, Any]:
    return {"workspace": workspace, "job_id": job_id, "decision": decision.value, "by": by}


def run_decision(deps: DiscordDeps, payload: dict[str, Any]) -> None:
    job_id = int(payload["job_id"])
    decision = Decision(payload["decision"])
    job = deps.jobs.get(payload["workspace"], f"job-{job_id}")
    where = where_of(job, payload)
    if decision is not Decision.APPROVED:
        if where is not None:
            by = mention(payload["by"])
            text = f"⛔ {mention(job.started_by)}, {job.short_id} was rejected by {by}."
            deps.bridge.call(lambda c: calls.send(c, where, content=text))
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
    requests = {request.ts for request in deps.approvals.requests(job.id)}
    if where is None or (
        job.status_message_ts is not None and job.status_message_ts not in requests
    ):
        return  # announced by an earlier run of this task
    embed = job_started_embed(job, deps.command)
    posted = deps.bridge.call(lambda c: calls.send(c, where, embed=embed))
    deps.jobs.mark_announced(job.id, str(posted.id))
