"""The Slack side of following jobs: keep each job's message current, deliver owed notices.

Called by the scheduler after each follower cycle (and after a webhook). Edits are throttled and
made only when the text changed; notices follow the outbox's steps so a crash at any point
neither loses nor repeats one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session, sessionmaker

from finetuning.credentials import Accounts
from finetuning.follow.chart import loss_chart_png
from finetuning.follow.losses import loss_points
from finetuning.follow.metrics import LossPoint, final_losses
from finetuning.follow.outbox import Outbox, OwedNotice
from finetuning.follow.progress import progress_of
from finetuning.jobs import JobRecord, JobService
from finetuning.platforms import Platform
from finetuning.provider import hint_for
from handlers.slack.blocks.follow import notice_blocks, progress_blocks
from handlers.slack.clients import SlackClients, WorkspaceNotInstalledError
from handlers.slack.home import HomePublisher
from storage.types import utcnow

log = logging.getLogger(__name__)

NOTICE_EVENT = "tunebot_notice"
"""Message metadata marking a notice, so a restart can find one it already posted."""
RECENT = timedelta(hours=1)


@dataclass
class SlackFollowNotifier:
    """Brings Slack up to date with what the follower stored, in each job's own workspace."""

    clients: SlackClients
    jobs: JobService
    outbox: Outbox
    factory: sessionmaker[Session]
    accounts: Accounts
    home: HomePublisher | None = None
    min_edit_interval: timedelta = timedelta(seconds=10)
    timing_refresh: timedelta = timedelta(minutes=5)
    clock: Callable[[], datetime] = utcnow

    def run(self) -> None:
        """One round. Notice messages go first (people wait for them), then progress edits,
        then the slower loss charts, then the Home tabs of workspaces where a job changed."""
        charts = self.post_notices()
        changed = self.update_progress()
        self.finish_notices(charts)
        if self.home is not None:
            self.home.refresh(changed)

    def update_progress(self) -> set[str]:
        """Edit each job's message when what it shows changed; returns the workspaces where a
        job changed state.

        Only status, step and losses count as a change: the elapsed time alone would edit every
        quiet job once a minute. A running job's timing is refreshed every few minutes.
        """
        now = self.clock()
        changed: set[str] = set()
        for job in self.jobs.with_messages(since=now - RECENT, platform=Platform.SLACK):
            shown = _signature(job)
            last = job.progress_shown_at
            if shown == job.progress_shown:
                stale_timing = job.status == "running" and (
                    last is None or now - last >= self.timing_refresh
                )
                if not stale_timing:
                    continue
            elif (
                job.active
                and last is not None
                and now - last < self.min_edit_interval
                and _status_of(job.progress_shown) == job.status
            ):
                continue  # throttled; a change of state (or an ended job) is never held back
            text, blocks = progress_blocks(job, progress_of(job, now))
            assert job.channel_id is not None and job.status_message_ts is not None
            try:
                self.clients.for_team(job.workspace_id).chat_update(
                    channel=job.channel_id, ts=job.status_message_ts, text=text, blocks=blocks
                )
            except WorkspaceNotInstalledError:
                continue  # nobody there to show it to; its notice says so once
            except SlackApiError as exc:
                log.warning("could not update %s's message: %s", job.short_id, exc)
                continue
            self.jobs.mark_progress_shown(job.id, shown, now)
            if _status_of(job.progress_shown) != job.status:
                changed.add(job.workspace_id)
        return changed

    def deliver_notices(self) -> None:
        """Deliver every owed notice completely (messages, then charts)."""
        self.finish_notices(self.post_notices())

    def post_notices(self) -> list[tuple[OwedNotice, list[LossPoint], bool]]:
        """Post each owed notice's message once; return what still needs its chart (with the
        loss points already fetched, and whether the message was posted just now)."""
        pending: list[tuple[OwedNotice, list[LossPoint], bool]] = []
        for notice in self.outbox.owed(platform=Platform.SLACK):
            try:
                posted = self._post_message(notice)
            except WorkspaceNotInstalledError as gone:
                log.warning("notice %s for %s dropped: %s", notice.id, notice.kind, gone)
                self.outbox.abandon(notice.id, str(gone))
                continue
            except SlackApiError as exc:
                log.warning("notice %s for %s not delivered yet: %s", notice.id, notice.kind, exc)
                self.outbox.attempt_failed(notice.id, str(exc))
                continue
            if posted is not None:
                pending.append(posted)
        return pending

    def finish_notices(self, pending: list[tuple[OwedNotice, list[LossPoint], bool]]) -> None:
        """Upload the loss charts of successes, then mark the notices sent."""
        for notice, points, just_posted in pending:
            job = notice.job
            try:
                client = self.clients.for_team(job.workspace_id)
                if job.status == "succeeded" and (
                    just_posted
                    or not self._chart_posted(client, str(job.channel_id), job.thread_ts, notice)
                ):
                    self._upload_chart(client, notice, points)
            except WorkspaceNotInstalledError as gone:
                log.warning("chart of notice %s dropped: %s", notice.id, gone)
                self.outbox.abandon(notice.id, str(gone))
                continue
            except SlackApiError as exc:
                log.warning("chart of notice %s not uploaded yet: %s", notice.id, exc)
                self.outbox.attempt_failed(notice.id, str(exc))
                continue
            self.outbox.sent(notice.id)

    def _post_message(self, notice: OwedNotice) -> tuple[OwedNotice, list[LossPoint], bool] | None:
        job = notice.job
        channel = job.channel_id
        if channel is None:
            self.outbox.sent(notice.id)
            return None
        client = self.clients.for_team(job.workspace_id)
        points = loss_points(self.factory, self.accounts, job) if job.status == "succeeded" else []
        if notice.message_ts is not None:
            return notice, points, False
        message_ts = None
        if notice.posting_since is not None:  # an earlier attempt may have got through
            message_ts = self._find_posted(client, channel, job.thread_ts, notice)
        just_posted = False
        if message_ts is None:
            if not self.outbox.begin_posting(notice.id, from_status=notice.status):
                return None  # another process claimed it meanwhile
            message_ts = self._post(client, notice, points)
            just_posted = True
        self.outbox.posted(notice.id, message_ts)
        return replace(notice, message_ts=message_ts), points, just_posted

    def _post(self, client: WebClient, notice: OwedNotice, points: list[LossPoint]) -> str:
        job = notice.job
        train, valid = final_losses(points)
        hint = (
            hint_for(status=None, code=job.error_code, param=None)
            if job.status == "failed"
            else None
        )
        text, blocks = notice_blocks(job, final_train_loss=train, final_valid_loss=valid, hint=hint)
        posted = client.chat_postMessage(
            channel=str(job.channel_id),
            thread_ts=job.thread_ts,
            text=text,
            blocks=blocks,
            reply_broadcast=job.thread_ts is not None,
            metadata={"event_type": NOTICE_EVENT, "event_payload": {"notice": notice.id}},
        )
        return str(posted["ts"])

    def _thread(
        self, client: WebClient, channel: str, thread_ts: str | None, oldest: str
    ) -> list[dict[str, Any]]:
        if thread_ts is not None:
            response = client.conversations_replies(
                channel=channel, ts=thread_ts, oldest=oldest, include_all_metadata=True
            )
        else:
            response = client.conversations_history(
                channel=channel, oldest=oldest, include_all_metadata=True
            )
        return list(response.get("messages") or [])

    def _find_posted(
        self, client: WebClient, channel: str, thread_ts: str | None, notice: OwedNotice
    ) -> str | None:
        """After a crash mid-post: the notice's message, if Slack got it before we died."""
        assert notice.posting_since is not None
        oldest = f"{notice.posting_since.timestamp() - 5:.6f}"
        for message in self._thread(client, channel, thread_ts, oldest):
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if metadata.get("event_type") == NOTICE_EVENT and payload.get("notice") == notice.id:
                return str(message["ts"])
        return None

    def _chart_title(self, notice: OwedNotice) -> str:
        return f"{notice.job.short_id} loss (notice {notice.id})"

    def _chart_posted(
        self, client: WebClient, channel: str, thread_ts: str | None, notice: OwedNotice
    ) -> bool:
        assert notice.message_ts is not None
        title = self._chart_title(notice)
        for message in self._thread(client, channel, thread_ts, notice.message_ts):
            if any(file.get("title") == title for file in message.get("files") or []):
                return True
        return False

    def _upload_chart(self, client: WebClient, notice: OwedNotice, points: list[LossPoint]) -> None:
        job = notice.job
        png = loss_chart_png(points, title=f"{job.short_id} · {job.fine_tuned_model or ''}")
        if png is None:
            return
        client.files_upload_v2(
            channel=str(job.channel_id),
            thread_ts=job.thread_ts,
            content=png,
            filename=f"{job.short_id}-loss.png",
            title=self._chart_title(notice),
        )


def _signature(job: JobRecord) -> str:
    """What a progress edit is for: status first, so a state change can be told apart."""
    return f"{job.status}|{job.step}|{job.total_steps}|{job.train_loss}|{job.valid_loss}"


def _status_of(signature: str | None) -> str | None:
    return signature.split("|", 1)[0] if signature else None
