"""Messages about fine-tuning jobs: started, their status, and a start that failed."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import Block

from finetuning.jobs.records import JobRecord
from handlers.slack.blocks.layout import context, section, text_size, to_dicts
from handlers.slack.blocks.limits import (
    FALLBACK_TEXT_LIMIT,
    MAX_BLOCKS,
    MAX_SECTION_TEXT,
    MESSAGE_TEXT_BUDGET,
)
from handlers.slack.blocks.text import (
    code,
    escape_mrkdwn,
    format_count,
    mention,
    one_line,
    slack_date,
    truncate,
    usd,
)

STATUS_MARK = {
    "pending": ":hourglass_flowing_sand:",
    "awaiting_approval": ":raised_hand:",
    "validating_files": ":mag:",
    "queued": ":hourglass:",
    "running": ":gear:",
    "paused": ":double_vertical_bar:",
    "succeeded": ":white_check_mark:",
    "failed": ":x:",
    "cancelled": ":no_entry_sign:",
    "rejected": ":no_entry:",
}
UNKNOWN_STATUS_MARK = ":grey_question:"
ERROR_LIMIT = 1500
"""Characters of a provider error shown; it can quote the training data."""
NOTE_RESERVE = 300


def job_started_blocks(
    job: JobRecord, *, command: str = "/finetune"
) -> tuple[str, list[dict[str, Any]]]:
    """The reply to a start: which job, who, on what, for about how much, and how to follow it."""
    who = f" by {mention(job.started_by)}" if job.started_by else ""
    provider = f", provider id {code(job.provider_job_id)}" if job.provider_job_id else ""
    cost = (
        f", estimated {usd(job.estimated_cost_usd)}" if job.estimated_cost_usd is not None else ""
    )
    summary = (
        f"Fine-tune {code(job.short_id)} started{who}: {code(job.base_model)} "
        f"on {code(job.dataset_short_id)}, {_epochs(job.epochs)}{cost}{provider}."
    )
    follow = (
        f"Follow it with {code(f'{command} status {job.short_id}')}, "
        f"stop it with {code(f'{command} cancel {job.short_id}')}."
    )
    blocks: list[Block] = [section(f":rocket: {summary}"), context(follow)]
    return truncate(summary, FALLBACK_TEXT_LIMIT), to_dicts(blocks)


def job_status_blocks(
    jobs: list[JobRecord], *, title: str, total: int | None = None
) -> tuple[str, list[dict[str, Any]]]:
    """One section per job, newest as given first, as many as one message holds.

    `total` is how many jobs there are when the caller loaded only the first `len(jobs)`; the
    note then says how many are not shown.
    """
    heading = section(f"*{escape_mrkdwn(one_line(title))}*")
    blocks: list[Block] = [heading]
    if not jobs:
        blocks.append(context("No fine-tuning jobs yet."))
        return truncate(f"{escape_mrkdwn(title)}: none", FALLBACK_TEXT_LIMIT), to_dicts(blocks)
    room = MESSAGE_TEXT_BUDGET - NOTE_RESERVE - text_size(heading.to_dict())
    shown = 0
    for job in jobs:
        text = truncate(_job_text(job), MAX_SECTION_TEXT)
        if len(text) > room or len(blocks) >= MAX_BLOCKS - 1:
            break
        blocks.append(section(text))
        room -= len(text)
        shown += 1
    everything = max(total or 0, len(jobs))
    if shown < everything:
        blocks.append(
            context(
                f"Showing {shown:,} of {format_count(everything, 'job')}; "
                "ask for one job's status to see it in full."
            )
        )
    if len(jobs) == 1:
        only = jobs[0]
        fallback = f"{only.short_id}: {_status_word(only.status)}"
    else:
        fallback = f"{one_line(title)}: {format_count(everything, 'job')}"
    return truncate(escape_mrkdwn(fallback), FALLBACK_TEXT_LIMIT), to_dicts(blocks)


def job_failed_to_start_blocks(
    error_message: str, hint: str | None = None
) -> tuple[str, list[dict[str, Any]]]:
    """Why a start was refused (by us or by the provider) and what to do about it."""
    quoted = "\n".join(
        f"> {escape_mrkdwn(line)}" for line in truncate(error_message, ERROR_LIMIT).splitlines()
    )
    blocks: list[Block] = [section(f":x: *The fine-tune did not start.*\n{quoted}")]
    if hint:
        blocks.append(context(f":bulb: {escape_mrkdwn(hint)}"))
    fallback = f"The fine-tune did not start: {escape_mrkdwn(one_line(error_message))}"
    return truncate(fallback, FALLBACK_TEXT_LIMIT), to_dicts(blocks)


def _status_word(status: str) -> str:
    return status.replace("_", " ")


def _epochs(epochs: int | None) -> str:
    if epochs is None:
        return "epochs as the API picks"
    return format_count(epochs, "epoch")


def _cost(job: JobRecord) -> str:
    if job.actual_cost_usd is not None:
        text = f"cost {usd(job.actual_cost_usd)}"
        if job.estimated_cost_usd is not None:
            text += f" (estimated {usd(job.estimated_cost_usd)})"
        return text
    if job.estimated_cost_usd is not None:
        return f"estimated {usd(job.estimated_cost_usd)}"
    return ""


def _job_text(job: JobRecord) -> str:
    mark = STATUS_MARK.get(job.status, UNKNOWN_STATUS_MARK)
    first = [f"{mark} *{escape_mrkdwn(job.short_id)}*", escape_mrkdwn(_status_word(job.status))]
    if job.provider_job_id:
        first.append(code(job.provider_job_id))
    model = code(job.base_model)
    if job.fine_tuned_model:
        model += f" → {code(job.fine_tuned_model)}"
    second = [model, f"dataset {code(job.dataset_short_id)}"]
    if job.started_by:
        second.append(f"by {mention(job.started_by)}")
    third = [_epochs(job.epochs), _cost(job), f"created {slack_date(job.created_at)}"]
    lines = [" · ".join(first), " · ".join(second), " · ".join(part for part in third if part)]
    if job.error_message:
        lines.append(f"> {escape_mrkdwn(truncate(one_line(job.error_message), ERROR_LIMIT))}")
    return "\n".join(lines)
