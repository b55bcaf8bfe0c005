"""The Discord side of following jobs: keep each job's message current, deliver owed notices.

Mirrors `handlers.slack.follow`: called by the scheduler after each follower cycle, edits only
when what the message shows changed (throttled; a change of state is never held back), and
notices go through the outbox's steps (posting → posted → sent). After a crash mid-post the
notice is found by its embed footer (`tunebot notice N`) instead of being posted again. The
success notice carries the loss chart as an attachment of the same message, so there is no
separate upload step to lose.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import discord
from sqlalchemy.orm import Session, sessionmaker

from finetuning.credentials import Accounts
from finetuning.follow.chart import loss_chart_png
from finetuning.follow.losses import loss_points
from finetuning.follow.metrics import final_losses
from finetuning.follow.outbox import Outbox, OwedNotice
from finetuning.follow.progress import progress_of
from finetuning.jobs import JobRecord, JobService
from finetuning.platforms import Platform
from finetuning.provider import hint_for
from finetuning.tasks import RetryLaterError
from handlers.discord import calls
from handlers.discord.bridge import DiscordBridge
from handlers.discord.render.jobs import NOTICE_FOOTER, notice_embed, progress_embed
from handlers.discord.render.views import buttons
from storage.types import utcnow

log = logging.getLogger(__name__)

RECENT = timedelta(hours=1)
DiscordTrouble = (discord.HTTPException, RetryLaterError, TypeError)
"""What one message's delivery may fail with, without stopping the round."""


@dataclass
class DiscordFollowNotifier:
    """Brings Discord up to date with what the follower stored."""

    bridge: DiscordBridge
    jobs: JobService
    outbox: Outbox
    factory: sessionmaker[Session]
    accounts: Accounts
    min_edit_interval: timedelta = timedelta(seconds=10)
    timing_refresh: timedelta = timedelta(minutes=5)
    clock: Callable[[], datetime] = utcnow

    def run(self) -> None:
        """One round: notices first (people wait for them), then progress edits."""
        if not self.bridge.connected:
            return
        self.deliver_notices()
        self.update_progress()

    def update_progress(self) -> None:
        now = self.clock()
        for job in self.jobs.with_messages(since=now - RECENT, platform=Platform.DISCORD):
            shown = _signature(job)
            last = job.progress_shown_at
            if shown == job.progress_shown:
                stale = job.status == "running" and (
                    last is None or now - last >= self.timing_refresh
                )
                if not stale:
                    continue
            elif (
                job.active
                and last is not None
                and now - last < self.min_edit_interval
                and _status_of(job.progress_shown) == job.status
            ):
                continue  # throttled; a change of state (or an ended job) is never held back
            embed = progress_embed(job, progress_of(job, now))
            where = job.thread_ts or job.channel_id
            assert where is not None and job.status_message_ts is not None
            try:
                self._edit(where, job.status_message_ts, embed)
            except DiscordTrouble as exc:
                log.warning("could not update %s's message: %s", job.short_id, exc)
                continue
            self.jobs.mark_progress_shown(job.id, shown, now)

    def _edit(self, where: str, message: str, embed: discord.Embed) -> None:
        self.bridge.call(lambda c: calls.edit(c, where, message, embed=embed, content=None))

    def deliver_notices(self) -> None:
        for notice in self.outbox.owed(platform=Platform.DISCORD):
            try:
                self._deliver(notice)
            except DiscordTrouble as exc:
                log.warning("notice %s for %s not delivered yet: %s", notice.id, notice.kind, exc)
                self.outbox.attempt_failed(notice.id, str(exc))

    def _deliver(self, notice: OwedNotice) -> None:
        job = notice.job
        where = job.thread_ts or job.channel_id
        if where is None:
            self.outbox.sent(notice.id)
            return
        if notice.message_ts is None:
            found = None
            if notice.posting_since is not None:  # an earlier attempt may have got through
                footer = NOTICE_FOOTER.format(notice=notice.id)
                found = self.bridge.call(
                    lambda c: calls.find_mine(
                        c, where, lambda m: any(e.footer.text == footer for e in m.embeds)
                    )
                )
            if found is None:
                if not self.outbox.begin_posting(notice.id, from_status=notice.status):
                    return  # another process claimed it meanwhile
                message_id = self._post(notice, where)
            else:
                message_id = str(found.id)
            self.outbox.posted(notice.id, message_id)
        self.outbox.sent(notice.id)

    def _post(self, notice: OwedNotice, where: str) -> str:
        job = notice.job
        points = loss_points(self.factory, self.accounts, job) if job.status == "succeeded" else []
        train, valid = final_losses(points)
        hint = (
            hint_for(status=None, code=job.error_code, param=None)
            if job.status == "failed"
            else None
        )
        content, embed = notice_embed(
            job, notice.id, final_train_loss=train, final_valid_loss=valid, hint=hint
        )
        png = (
            loss_chart_png(points, title=f"{job.short_id} · {job.fine_tuned_model or ''}")
            if job.status == "succeeded"
            else None
        )
        name = f"{job.short_id}-loss.png"
        if png is not None:
            embed.set_image(url=f"attachment://{name}")

        # A trained model is one click from being talked to, or compared with its base.
        view = (
            buttons(("use", job.id), ("compare", job.id))
            if job.status == "succeeded" and job.fine_tuned_model
            else None
        )

        async def post(client: discord.Client) -> discord.Message:
            files = [discord.File(io.BytesIO(png), filename=name)] if png is not None else []
            extra: dict[str, Any] = {"view": view} if view is not None else {}
            return await calls.send(
                client,
                where,
                content=content,
                embed=embed,
                files=files,
                allowed_mentions=discord.AllowedMentions(users=True, everyone=False, roles=False),
                **extra,
            )

        posted = self.bridge.call(post)
        return str(posted.id)


def _signature(job: JobRecord) -> str:
    return f"{job.status}|{job.step}|{job.total_steps}|{job.train_loss}|{job.valid_loss}"


def _status_of(signature: str | None) -> str | None:
    return signature.split("|", 1)[0] if signature else None
