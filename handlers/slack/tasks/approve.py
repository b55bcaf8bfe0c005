"""Approvals in Slack: asking the admins, then acting on the first admin's decision.

The request goes to TUNEBOT_ADMIN_CHANNEL, else as a direct message to each TUNEBOT_ADMINS
person, else (nobody named) into the requester's thread, where a workspace admin can click. Each
posted request is recorded before the next, so a retried task does not ask anyone twice, and the
requester's waiting message is recorded before any request exists, so that the quickest click
still finds it (see `request_approval`).
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from finetuning.jobs import JobRecord
from finetuning.platforms import Platform, people_on
from finetuning.provider import ProviderError
from finetuning.tasks import RetryLaterError
from finetuning.team.approvals import Decision, RequestMessage
from handlers.slack.blocks.jobs import job_failed_to_start_blocks, job_started_blocks
from handlers.slack.blocks.layout import section, to_dicts
from handlers.slack.blocks.team import (
    approval_outcome_blocks,
    approval_request_blocks,
    awaiting_text,
    decided_text,
    rejected_notice,
)
from handlers.slack.deps import SlackDeps
from handlers.slack.slack_errors import is_transient
from handlers.slack.tasks.slack_calls import slack_transient_as_retry

log = logging.getLogger(__name__)


def decision_payload(
    *, team: str, job_id: int, decision: Decision, by: str, waiting_ts: str | None
) -> dict[str, Any]:
    """The task payload after an admin's click; `waiting_ts` is the requester's message."""
    return {
        "team": team,
        "job_id": job_id,
        "decision": decision.value,
        "by": by,
        "waiting_ts": waiting_ts,
    }


def request_approval(deps: SlackDeps, job: JobRecord, payload: dict[str, Any]) -> None:
    """Tell the requester the job waits, then ask the admins: each message once, on a retry too.

    The order is what makes a quick click safe. Slack shows a message before the app hears back
    that it was posted, so an admin can click a request before this task has recorded anything,
    and a click acts on what the database holds then: the decision task edits the requester's
    waiting message (the job's message until the start is announced, see `_announce_once`) and
    every recorded request. So the waiting message is recorded before any button exists (else
    the decision task took it for an announcement already made, and the start was never
    announced), and each request, once recorded, is checked against the job: a decision taken
    before its request was recorded is shown on it here.
    """
    threshold = deps.approvals.threshold_usd
    client = deps.clients.for_team(job.workspace_id)
    destinations = _destinations(deps, client)
    if deps.admin_channel:
        where = f"the admins in <#{deps.admin_channel}>"
    else:
        where = deps.admins.contacts(job.workspace_id)
    waiting = awaiting_text(job, threshold, where)
    text, blocks = approval_request_blocks(job, threshold)
    recorded = deps.approvals.requests(job.id)
    shown_here: list[RequestMessage] = []
    buttons_on_waiting: str | None = None
    if job.channel_id is not None:
        waiting_ts = job.status_message_ts
        if waiting_ts is None:
            posted = client.chat_postMessage(
                channel=job.channel_id,
                thread_ts=job.thread_ts,
                text=waiting,
                blocks=to_dicts([section(waiting)]),
            )
            waiting_ts = str(posted["ts"])
            deps.jobs.mark_announced(job.id, waiting_ts)
        if not destinations and all(r.ts != waiting_ts for r in recorded):
            # Nobody named: the admins who can see this thread decide here, on buttons added
            # only now that the message is known.
            client.chat_update(
                channel=job.channel_id,
                ts=waiting_ts,
                text=waiting,
                blocks=to_dicts([section(waiting)]) + blocks[1:],
            )
            deps.approvals.record_request(job.id, job.channel_id, waiting_ts)
            buttons_on_waiting = waiting_ts
    asked = {request.channel for request in recorded}
    for channel in destinations:
        if channel in asked:
            continue
        posted = client.chat_postMessage(channel=channel, text=text, blocks=blocks)
        request = RequestMessage(str(posted["channel"]), str(posted["ts"]))
        deps.approvals.record_request(job.id, request.channel, request.ts)
        shown_here.append(request)
    if job.channel_id is None:
        client.chat_postMessage(channel=payload["user"], text=waiting)
    _show_decision_taken_meanwhile(deps, job, shown_here, buttons_on_waiting)


def _show_decision_taken_meanwhile(
    deps: SlackDeps, job: JobRecord, requests: list[RequestMessage], waiting_ts: str | None
) -> None:
    """Show a decision on the buttons this run put up, if one was taken before they were
    recorded: the decision task, reading the records, may have missed them. Read after the
    records were written, so either the decision task sees a record or this sees the decision
    (both editing is harmless)."""
    if not requests and waiting_ts is None:
        return
    current = deps.jobs.get(job.workspace_id, job.short_id)
    decision, by = deps.approvals.outcome(current)
    if decision is None:
        return
    _show_outcome(deps, current, decision, by, requests, waiting_ts)


def _show_outcome(
    deps: SlackDeps,
    job: JobRecord,
    decision: Decision,
    by: str | None,
    requests: list[RequestMessage],
    waiting_ts: str | None,
) -> None:
    """`requests` show the decision in place of their buttons; the waiting message, when
    given, says what was decided."""
    for request in requests:
        show_decision_on(deps, job, decision, by, request.channel, request.ts)
    if waiting_ts is not None and job.channel_id is not None:
        decided = decided_text(job, decision, by)
        _update(deps, job, job.channel_id, waiting_ts, decided, to_dicts([section(decided)]))


def _destinations(deps: SlackDeps, client: WebClient) -> list[str]:
    """Where requests go: the admin channel, or each configured admin's direct messages."""
    if deps.admin_channel:
        return [deps.admin_channel]
    found: list[str] = []
    for user in people_on(Platform.SLACK, deps.admins.configured):
        opened = client.conversations_open(users=user)
        found.append(str(opened["channel"]["id"]))
    return found


def run_decision(deps: SlackDeps, payload: dict[str, Any]) -> None:
    """Act on a decision already recorded: submit and announce, or tell the requester no."""
    decision = Decision(payload["decision"])
    with slack_transient_as_retry():
        if decision is Decision.APPROVED:
            job = _submit(deps, payload)
        else:
            job = deps.jobs.get(payload["team"], f"job-{payload['job_id']}")
            _tell_requester(deps, job, payload, rejected_notice(job, payload["by"]))
        _show_on_requests(deps, job, payload)


def _submit(deps: SlackDeps, payload: dict[str, Any]) -> JobRecord:
    job_id = int(payload["job_id"])
    try:
        job = deps.approvals.submit(job_id).job
    except ProviderError as error:
        if error.retryable:
            raise RetryLaterError(error.message) from error
        job = deps.jobs.get(payload["team"], f"job-{job_id}")
        text, blocks = job_failed_to_start_blocks(error.message, error.hint)
        _announce_once(deps, job, payload, text, blocks)
        return job
    if job.status == "failed":
        text, blocks = job_failed_to_start_blocks(job.error_message or "refused", None)
    else:
        text, blocks = job_started_blocks(job, command=deps.command)
    _announce_once(deps, job, payload, text, blocks)
    return job


def _announce_once(
    deps: SlackDeps,
    job: JobRecord,
    payload: dict[str, Any],
    text: str,
    blocks: list[dict[str, Any]],
) -> None:
    """Post the start in the requester's thread, as any start is announced, unless an earlier
    run of this task did (the job's message is then no longer the waiting one)."""
    waiting = payload.get("waiting_ts")
    if job.channel_id is None:
        return
    if job.status_message_ts is None or job.status_message_ts == waiting:
        posted = deps.clients.for_team(job.workspace_id).chat_postMessage(
            channel=job.channel_id, thread_ts=job.thread_ts, text=text, blocks=blocks
        )
        deps.jobs.mark_announced(job.id, str(posted["ts"]))
    # After the announcement took over as the job's message, so the follower's progress edits
    # go there and this edit stays.
    _edit_waiting(deps, job, payload)


def _tell_requester(deps: SlackDeps, job: JobRecord, payload: dict[str, Any], text: str) -> None:
    _edit_waiting(deps, job, payload)
    client = deps.clients.for_team(job.workspace_id)
    if job.channel_id is None:
        if job.started_by:
            client.chat_postMessage(channel=job.started_by, text=text)
        return
    client.chat_postMessage(channel=job.channel_id, thread_ts=job.thread_ts, text=text)


def _edit_waiting(deps: SlackDeps, job: JobRecord, payload: dict[str, Any]) -> None:
    """The requester's "waiting for approval" message now says what was decided."""
    waiting = payload.get("waiting_ts")
    if not waiting or job.channel_id is None:
        return
    text = decided_text(job, Decision(payload["decision"]), payload["by"])
    _update(deps, job, job.channel_id, str(waiting), text, to_dicts([section(text)]))


def _show_on_requests(deps: SlackDeps, job: JobRecord, payload: dict[str, Any]) -> None:
    """Replace the buttons on every request message with the decision (the requester's own
    message, when it carried them, was edited already)."""
    text, blocks = approval_outcome_blocks(job, Decision(payload["decision"]), payload["by"])
    for request in deps.approvals.requests(job.id):
        if request.ts != payload.get("waiting_ts"):
            _update(deps, job, request.channel, request.ts, text, blocks)


def show_withdrawal(deps: SlackDeps, job: JobRecord) -> None:
    """A job cancelled while it waited for approval: each request shows "withdrawn" instead of
    its buttons, and the requester's waiting message says so. Edits only, so a retried task
    repeats them harmlessly. Nothing for any other job."""
    decision, by = deps.approvals.outcome(job)
    if decision is not Decision.WITHDRAWN:
        return
    requests = deps.approvals.requests(job.id)
    waiting = job.status_message_ts
    if any(request.ts == waiting for request in requests):
        waiting = None  # the waiting message was the request: shown as one
    _show_outcome(deps, job, decision, by, requests, waiting)


def show_decision_on(
    deps: SlackDeps, job: JobRecord, decision: Decision, by: str | None, channel: str, ts: str
) -> None:
    """One request message shows a decision taken elsewhere (a late click on it)."""
    text, blocks = approval_outcome_blocks(job, decision, by)
    _update(deps, job, channel, ts, text, blocks)


def _update(
    deps: SlackDeps,
    job: JobRecord,
    channel: str,
    ts: str,
    text: str,
    blocks: list[dict[str, Any]],
) -> None:
    """Edit a message about `job` (in its workspace); one that is gone (deleted, channel
    archived) is not worth a retry."""
    try:
        deps.clients.for_team(job.workspace_id).chat_update(
            channel=channel, ts=ts, text=text, blocks=blocks
        )
    except SlackApiError as exc:
        if is_transient(exc):
            raise
        log.warning("could not update %s/%s: %s", channel, ts, exc)
