""" "Fix and re-upload": the corrected file goes into the thread and is checked as a new dataset.

The fixed file is ingested first (`fix_dataset`), so a run that finds its dataset's report
already in the thread has nothing left to post. A retried run (the last one died between its
posts and the database) reads the thread first and posts only what is not there yet
(`ThreadSoFar`): the file once, its report once.
"""

from __future__ import annotations

from typing import Any

from finetuning.datasets.library import DatasetNotFoundError
from finetuning.datasets.refix import StoredFileGoneError, fix_dataset
from finetuning.tasks import ATTEMPT
from handlers.slack.blocks.report import stored_report_blocks
from handlers.slack.deps import SlackDeps
from handlers.slack.tasks.slack_calls import slack_transient_as_retry
from handlers.slack.thread_so_far import ThreadSoFar, report_metadata


def run_fix(deps: SlackDeps, payload: dict[str, Any]) -> None:
    team, channel, user = payload["team"], payload["channel"], payload["user"]
    client = deps.clients.for_team(team)
    with slack_transient_as_retry():
        try:
            done = fix_dataset(
                deps.library,
                deps.data_dir,
                team,
                payload["dataset"],
                channel_id=channel,
                thread=payload.get("thread_ts"),
                user_id=user,
            )
        except DatasetNotFoundError:
            client.chat_postEphemeral(
                channel=channel, user=user, text="That dataset is gone; upload the file again."
            )
            return
        except StoredFileGoneError:
            client.chat_postEphemeral(
                channel=channel, user=user, text="The stored file is gone; upload it again."
            )
            return
        if done.already_reported_here:
            return
        fixed = done.fixed
        said = f"Fixed {done.source.short_id} for <@{user}>:"
        file_id = report_ts = None
        if payload.get(ATTEMPT, 1) > 1 and done.thread is not None:
            earlier = ThreadSoFar.read(client, channel, done.thread)
            file_id = earlier.upload(done.file_name, said)
            report_ts = earlier.report_about(file_id) if file_id else None
        if file_id is None:
            changes = "\n".join(f"• {change}" for change in done.changes) or "• nothing to change"
            uploaded = client.files_upload_v2(
                channel=channel,
                thread_ts=done.thread,
                file=str(done.path),
                filename=done.file_name,
                title=done.file_name,
                initial_comment=f"{said}\n{changes}",
            )
            file_id = str(uploaded["file"]["id"])
        if report_ts is None:
            text, blocks = stored_report_blocks(fixed, command=deps.command)
            posted = client.chat_postMessage(
                channel=channel,
                thread_ts=done.thread,
                text=text,
                blocks=blocks,
                metadata=report_metadata(file_id),
            )
            report_ts = str(posted["ts"])
        if done.should_mark:
            deps.library.mark_reported(fixed.id, report_ts)
