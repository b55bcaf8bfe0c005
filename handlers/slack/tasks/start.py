"""Starting a job for a slash command or a submitted modal, and saying so in the thread."""

from __future__ import annotations

from typing import Any

from finetuning.jobs import JobRecord, StartRefusedError, StartRequest
from finetuning.provider import ProviderError
from finetuning.tasks import RetryLaterError
from finetuning.team import Action
from handlers.slack.blocks.jobs import job_failed_to_start_blocks, job_started_blocks
from handlers.slack.deps import SlackDeps
from handlers.slack.tasks.approve import request_approval
from handlers.slack.tasks.slack_calls import slack_transient_as_retry
from handlers.slack.team import team_refusal


def start_payload(
    *,
    key: str,
    team: str,
    channel: str | None,
    user: str,
    fields: dict[str, Any],
) -> dict[str, Any]:
    """The task payload: plain JSON, so the task survives a restart."""
    return {"key": key, "team": team, "channel": channel, "user": user, "fields": fields}


def run_start(deps: SlackDeps, payload: dict[str, Any]) -> None:
    fields = payload["fields"]
    request = StartRequest(
        key=payload["key"],
        workspace_id=payload["team"],
        channel_id=payload.get("channel"),
        requested_by=payload["user"],
        dataset_ref=fields.get("dataset"),
        model=fields.get("model"),
        epochs=fields.get("epochs"),
        suffix=fields.get("suffix"),
        validation_ref=fields.get("validation"),
        seed=fields.get("seed"),
    )
    with slack_transient_as_retry():
        # The listeners refuse at once; this covers every way in (the modal, a retried task).
        refusal = team_refusal(
            deps, Action.START, payload["team"], payload["user"], payload.get("channel")
        )
        if refusal is not None:
            _tell_user(deps, payload, refusal)
            return
        try:
            outcome = deps.jobs.start(request)
        except StartRefusedError as refused:
            _tell_user(deps, payload, f":no_entry: Not started: {refused.message}. {refused.hint}")
            return
        except ProviderError as error:
            if error.retryable:
                raise RetryLaterError(error.message) from error
            text, blocks = job_failed_to_start_blocks(error.message, error.hint)
            _announce(deps, deps.jobs.by_key(request.key), payload, text, blocks)
            return
        job = outcome.job
        if job.status == "awaiting_approval":
            # Before the check below: the waiting message is the job's message from the moment
            # it is posted, and an earlier run may have stopped before asking every admin.
            request_approval(deps, job, payload)
            return
        if job.status_message_ts is not None:
            return  # announced by an earlier run of this task
        if job.status == "failed":
            text, blocks = job_failed_to_start_blocks(job.error_message or "refused", None)
        else:
            text, blocks = job_started_blocks(job, command=deps.command)
        _announce(deps, job, payload, text, blocks)


def _announce(
    deps: SlackDeps,
    job: JobRecord | None,
    payload: dict[str, Any],
    text: str,
    blocks: list[dict[str, Any]],
) -> None:
    """Post about the job once, and remember the message: later updates edit it in place."""
    ts = _post(deps, job, payload, text, blocks)
    if ts is not None and job is not None:
        deps.jobs.mark_announced(job.id, ts)


def _post(
    deps: SlackDeps,
    job: JobRecord | None,
    payload: dict[str, Any],
    text: str,
    blocks: list[dict[str, Any]],
) -> str | None:
    """Post in the dataset's thread (or the channel asked from); return the message ts."""
    channel = (job.channel_id if job else None) or payload.get("channel")
    if channel is None:
        _tell_user(deps, payload, text)
        return None
    thread_ts = job.thread_ts if job else None
    posted = deps.clients.for_team(payload["team"]).chat_postMessage(
        channel=channel, thread_ts=thread_ts, text=text, blocks=blocks
    )
    return str(posted["ts"])


def _tell_user(deps: SlackDeps, payload: dict[str, Any], text: str) -> None:
    channel = payload.get("channel")
    client = deps.clients.for_team(payload["team"])
    if channel:
        client.chat_postEphemeral(channel=channel, user=payload["user"], text=text)
    else:
        client.chat_postMessage(channel=payload["user"], text=text)
