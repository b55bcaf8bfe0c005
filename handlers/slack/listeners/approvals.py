"""The Approve and Reject buttons of an approval request.

The decision is taken here, inside the acknowledgement (one conditional UPDATE), so a second
click, by anyone, learns at once who decided; what follows the decision (submitting to OpenAI,
telling the requester, editing the requests) is a durable task keyed by the job, so it runs once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from sqlalchemy.orm import Session

from finetuning.jobs import JobNotFoundError, JobRecord
from finetuning.team import Action
from finetuning.team.approvals import Decision, DecisionOutcome
from handlers.slack.blocks.team import APPROVE_ACTION, REJECT_ACTION
from handlers.slack.blocks.text import code, mention
from handlers.slack.deps import SlackDeps
from handlers.slack.tasks import DECISION
from handlers.slack.tasks.approve import decision_payload, show_decision_on
from handlers.slack.team import team_refusal


def register(app: App, deps: SlackDeps) -> None:
    @app.action(APPROVE_ACTION)
    def on_approve(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        ack()
        _decide(deps, body, context.team_id or "", client, Decision.APPROVED)

    @app.action(REJECT_ACTION)
    def on_reject(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        ack()
        _decide(deps, body, context.team_id or "", client, Decision.REJECTED)


def _decide(
    deps: SlackDeps, body: dict[str, Any], team: str, client: WebClient, decision: Decision
) -> None:
    user = str(body["user"]["id"])
    channel = str(body["channel"]["id"])
    ref = str(body["actions"][0]["value"])
    refusal = team_refusal(deps, Action.DECIDE, team, user, channel)
    if refusal is not None:
        client.chat_postEphemeral(channel=channel, user=user, text=refusal)
        return
    starts: list[Callable[[], None]] = []

    def follow_up(session: Session, job: JobRecord) -> None:
        """The decision's follow-up task, in the decision's own transaction."""
        starts.append(
            deps.enqueue_in(
                session,
                DECISION,
                _decision_key(team, job.id),
                decision_payload(
                    team=team,
                    job_id=job.id,
                    decision=decision,
                    by=user,
                    waiting_ts=_waiting_ts(job),
                ),
            )
        )

    try:
        if decision is Decision.APPROVED:
            outcome = deps.approvals.approve(team, ref, user, then=follow_up)
        else:
            outcome = deps.approvals.reject(team, ref, user, then=follow_up)
    except JobNotFoundError:
        client.chat_postEphemeral(channel=channel, user=user, text="That job is gone.")
        return
    for start in starts:
        start()
    if outcome.decided:
        return
    if _approved_but_not_sent(outcome):
        # Approved before decisions wrote their follow-up in their own transaction, and lost
        # to a crash: this click sends it (the key makes it one task however often it comes).
        deps.enqueue(
            DECISION,
            _decision_key(team, outcome.job.id),
            decision_payload(
                team=team,
                job_id=outcome.job.id,
                decision=outcome.decision or decision,
                by=outcome.by or user,
                waiting_ts=_waiting_ts(outcome.job),
            ),
        )
    client.chat_postEphemeral(channel=channel, user=user, text=_already(outcome))
    message = body.get("message") or {}
    if outcome.decision is not None and message.get("ts"):
        show_decision_on(
            deps, outcome.job, outcome.decision, outcome.by, channel, str(message["ts"])
        )


def _approved_but_not_sent(outcome: DecisionOutcome) -> bool:
    job = outcome.job
    return (
        outcome.decision is Decision.APPROVED
        and job.provider_job_id is None
        and job.status == "pending"
    )


def _decision_key(team: str, job_id: int) -> str:
    return f"decision:{team}:{job_id}"


def _waiting_ts(job: JobRecord) -> str | None:
    """The requester's "waiting" message: the job's message until the start is announced."""
    return job.status_message_ts if job.provider_job_id is None else None


def _already(outcome: DecisionOutcome) -> str:
    job = code(outcome.job.short_id)
    who = f" by {mention(outcome.by)}" if outcome.by else ""
    if outcome.decision is None:
        return (
            f":information_source: {job} is not waiting for approval (it is {outcome.job.status})."
        )
    return f":information_source: {job} was already {outcome.decision.value}{who}."
