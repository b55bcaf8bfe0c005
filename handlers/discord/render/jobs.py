"""Embeds about jobs: started, status lists, progress (edited in place), and the outcome."""

from __future__ import annotations

from datetime import timedelta

import discord

from finetuning.follow.progress import Progress
from finetuning.jobs.records import JobRecord
from handlers.discord.render.limits import MAX_FIELDS, cut
from handlers.discord.render.style import BAD, BRAND, OK, QUIET, WARN

STATUS_MARK = {
    "pending": "⏳",
    "awaiting_approval": "✋",
    "validating_files": "🔍",
    "queued": "⌛",
    "running": "⚙️",
    "paused": "⏸️",
    "succeeded": "✅",
    "failed": "❌",
    "cancelled": "🚫",
    "rejected": "⛔",
}
ERROR_LIMIT = 1500
NOTICE_FOOTER = "tunebot notice {notice}"


def mention(user_id: str | None) -> str:
    return f"<@{user_id}>" if user_id else "someone"


def duration(value: timedelta) -> str:
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


def _usd(value: float | None) -> str:
    return "unknown" if value is None else f"${value:,.2f}"


def _epochs(epochs: int | None) -> str:
    return "epochs picked by the API" if epochs is None else f"{epochs} epoch(s)"


def job_started_embed(job: JobRecord, command: str) -> discord.Embed:
    embed = discord.Embed(
        title=f"{STATUS_MARK.get(job.status, '❔')} Fine-tune {job.short_id} started",
        colour=BRAND,
        description=(
            f"{mention(job.started_by)} started `{job.base_model}` on `{job.dataset_short_id}`, "
            f"{_epochs(job.epochs)}, estimated {_usd(job.estimated_cost_usd)}.\n"
            f"This message follows its progress; `{command} cancel {job.short_id}` stops it."
        ),
    )
    if job.provider_job_id:
        embed.set_footer(text=job.provider_job_id)
    return embed


def failed_to_start_embed(message: str, hint: str | None) -> discord.Embed:
    embed = discord.Embed(
        title="❌ OpenAI refused the job", colour=BAD, description=cut(message, ERROR_LIMIT)
    )
    if hint:
        embed.add_field(name="What to do", value=cut(hint, 1024), inline=False)
    return embed


def status_embed(jobs: list[JobRecord], title: str) -> discord.Embed:
    embed = discord.Embed(title=title, colour=BRAND)
    for job in jobs[:MAX_FIELDS]:
        mark = STATUS_MARK.get(job.status, "❔")
        step = f", step {job.step:,}/{job.total_steps:,}" if job.step and job.total_steps else ""
        model = f"\n`{job.fine_tuned_model}`" if job.fine_tuned_model else ""
        embed.add_field(
            name=f"{mark} {job.short_id} · {job.status.replace('_', ' ')}",
            value=(
                f"`{job.base_model}` on `{job.dataset_short_id}`{step}, by "
                f"{mention(job.started_by)}{model}"
            ),
            inline=False,
        )
    return embed


def progress_embed(job: JobRecord, progress: Progress) -> discord.Embed:
    """The job's own message while it runs; edited in place, never reposted."""
    status = progress.status.replace("_", " ")
    colour = {"succeeded": OK, "failed": BAD, "cancelled": QUIET, "paused": WARN}.get(
        progress.status, BRAND
    )
    lines: list[str] = []
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
    lines.append(timing)
    embed = discord.Embed(
        title=f"{STATUS_MARK.get(progress.status, '❔')} Fine-tune {job.short_id} · {status}",
        colour=colour,
        description="\n".join(lines),
    )
    embed.set_footer(
        text=f"started by {job.started_by or '?'} · `{job.base_model}` on "
        f"{job.dataset_short_id}" + (f" · {job.provider_job_id}" if job.provider_job_id else "")
    )
    return embed


def notice_embed(
    job: JobRecord,
    notice_id: int,
    *,
    final_train_loss: float | None,
    final_valid_loss: float | None,
    hint: str | None,
) -> tuple[str, discord.Embed]:
    """The outcome notice: content mentioning who started it, and an embed with the facts.
    The footer names the notice, so a restart finds one it already posted."""
    who = mention(job.started_by)
    took = (
        duration(job.finished_at - (job.running_since or job.created_at))
        if job.finished_at
        else None
    )
    if job.status == "succeeded":
        content = f"✅ {who}, fine-tune {job.short_id} succeeded."
        embed = discord.Embed(title=f"{job.short_id} succeeded", colour=OK)
        embed.add_field(name="Model", value=f"`{job.fine_tuned_model or '?'}`", inline=False)
        embed.add_field(name="Trained tokens", value=f"{job.trained_tokens or 0:,}")
        embed.add_field(name="Final training loss", value=_loss(final_train_loss))
        embed.add_field(name="Final validation loss", value=_loss(final_valid_loss))
        if took:
            embed.add_field(name="Took", value=took)
        if job.actual_cost_usd is not None:
            embed.add_field(name="Cost", value=_usd(job.actual_cost_usd))
    elif job.status == "failed":
        code = f" ({job.error_code})" if job.error_code else ""
        content = f"❌ {who}, fine-tune {job.short_id} failed{code}."
        embed = discord.Embed(
            title=f"{job.short_id} failed{code}",
            colour=BAD,
            description=cut(job.error_message or "no reason given", ERROR_LIMIT),
        )
        if hint:
            embed.add_field(name="💡 What to do", value=cut(hint, 1024), inline=False)
    else:
        by = f" by {mention(job.cancelled_by)}" if job.cancelled_by else ""
        content = f"🚫 {who}, fine-tune {job.short_id} was cancelled{by}."
        embed = discord.Embed(title=f"{job.short_id} cancelled", colour=QUIET)
    embed.set_footer(text=NOTICE_FOOTER.format(notice=notice_id))
    return content, embed
