"""The job's progress message (edited in place) and its completion notices."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement

from finetuning.follow.progress import Progress
from finetuning.jobs.records import JobRecord
from handlers.slack.blocks.jobs import STATUS_MARK, UNKNOWN_STATUS_MARK
from handlers.slack.blocks.layout import context, section, to_dicts
from handlers.slack.blocks.limits import FALLBACK_TEXT_LIMIT
from handlers.slack.blocks.text import code, escape_mrkdwn, format_count, mention, truncate, usd

USE_MODEL_ACTION = "use_model_here"
COMPARE_BASE_ACTION = "compare_with_base"
MODEL_ACTIONS_BLOCK_ID = "model_actions"


def duration(value: timedelta) -> str:
    """`2 h 05 min`, `4 min 10 s`, `12 s`: as precise as a person reading it needs."""
    seconds = int(value.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def _loss(value: float | None) -> str:
    return "–" if value is None else f"{value:.4f}"


def progress_blocks(job: JobRecord, progress: Progress) -> tuple[str, list[dict[str, Any]]]:
    """What the job's own message shows while it runs; edited in place, never reposted."""
    mark = STATUS_MARK.get(progress.status, UNKNOWN_STATUS_MARK)
    status = progress.status.replace("_", " ")
    head = f"{mark} Fine-tune {code(job.short_id)} · {code(job.base_model)} · *{status}*"
    lines = [head]
    if progress.step is not None:
        total = f"/{progress.total_steps:,}" if progress.total_steps else ""
        lines.append(f"`{progress.bar()}` step {progress.step:,}{total}")
        lines.append(
            f"training loss {_loss(progress.train_loss)} · "
            f"validation loss {_loss(progress.valid_loss)}"
        )
    timing = f"elapsed {duration(progress.elapsed)}"
    if progress.remaining is not None and progress.status == "running":
        timing += f" · about {duration(progress.remaining)} left"
    who = f"started by {mention(job.started_by)} · " if job.started_by else ""
    provider = f" · {code(job.provider_job_id)}" if job.provider_job_id else ""
    blocks: list[Block] = [
        section("\n".join(lines)),
        context(f"{who}{timing} · dataset {code(job.dataset_short_id)}{provider}"),
    ]
    fallback = f"{job.short_id}: {status}"
    if progress.step is not None and progress.total_steps:
        fallback += f", step {progress.step}/{progress.total_steps}"
    return truncate(fallback, FALLBACK_TEXT_LIMIT), to_dicts(blocks)


def _model_actions(job_ref: str) -> ActionsBlock:
    """Try the new model where the team already is: bind the channel, or ask both models."""
    return ActionsBlock(
        block_id=MODEL_ACTIONS_BLOCK_ID,
        elements=[
            ButtonElement(
                text="Use in this channel",
                action_id=USE_MODEL_ACTION,
                value=job_ref,
                style="primary",
            ),
            ButtonElement(text="Compare with base", action_id=COMPARE_BASE_ACTION, value=job_ref),
        ],
    )


def notice_blocks(
    job: JobRecord,
    *,
    final_train_loss: float | None,
    final_valid_loss: float | None,
    hint: str | None,
) -> tuple[str, list[dict[str, Any]]]:
    """The completion notice for a job's outcome, mentioning who started it."""
    who = mention(job.started_by) if job.started_by else "Team"
    took = (
        duration(job.finished_at - (job.running_since or job.created_at))
        if job.finished_at
        else None
    )
    if job.status == "succeeded":
        facts = [
            f"model {code(job.fine_tuned_model or '?')}",
            f"{format_count(job.trained_tokens or 0, 'trained token')}",
            f"final training loss {_loss(final_train_loss)}",
            f"final validation loss {_loss(final_valid_loss)}",
        ]
        if took:
            facts.append(f"took {took}")
        if job.actual_cost_usd is not None:
            facts.append(f"cost {usd(job.actual_cost_usd)}")
        text = f":white_check_mark: {who}, fine-tune {code(job.short_id)} succeeded."
        blocks: list[Block] = [section(text), section("\n".join(f"• {f}" for f in facts))]
        if job.fine_tuned_model:
            blocks.append(_model_actions(job.short_id))
        fallback = f"{job.short_id} succeeded: {job.fine_tuned_model}"
    elif job.status == "failed":
        code_text = f" ({code(job.error_code)})" if job.error_code else ""
        message = escape_mrkdwn(job.error_message or "no reason given")
        text = f":x: {who}, fine-tune {code(job.short_id)} failed{code_text}:\n> {message}"
        blocks = [section(text)]
        if hint:
            blocks.append(context(f":bulb: {escape_mrkdwn(hint)}"))
        fallback = f"{job.short_id} failed: {job.error_message or ''}"
    else:
        by = f" by {mention(job.cancelled_by)}" if job.cancelled_by else ""
        text = f":no_entry_sign: {who}, fine-tune {code(job.short_id)} was cancelled{by}."
        blocks = [section(text)]
        fallback = f"{job.short_id} was cancelled"
    return truncate(fallback, FALLBACK_TEXT_LIMIT), to_dicts(blocks)
