"""A shared file, from download to the report in its thread."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

from slack_sdk import WebClient

from finetuning.datasets.library import Origin
from finetuning.tasks import ATTEMPT
from handlers.slack.blocks.report import stored_report_blocks
from handlers.slack.deps import SlackDeps
from handlers.slack.download import DownloadError, download
from handlers.slack.files import is_dataset_name, is_partial
from handlers.slack.tasks.slack_calls import slack_transient_as_retry
from handlers.slack.thread_so_far import ThreadSoFar, report_metadata

log = logging.getLogger(__name__)


def run_intake(deps: SlackDeps, payload: dict[str, Any]) -> None:
    """Check one shared file and answer in its thread; payload from the file_share listener."""
    channel = payload["channel"]
    thread_ts = payload["thread_ts"]
    client = deps.clients.for_team(payload["team"])
    with slack_transient_as_retry():
        file = payload["file"]
        if is_partial(file):
            file = client.files_info(file=file["id"])["file"]
        name = str(file.get("name") or "")
        if not is_dataset_name(name):
            return
        size = int(file.get("size") or 0)
        if size > deps.max_upload_bytes:
            _reply(client, channel, thread_ts, _too_large(name, size, deps.max_upload_bytes))
            return
        url = str(file.get("url_private_download") or file.get("url_private") or "")
        with tempfile.TemporaryDirectory(prefix="tunebot-intake-") as scratch:
            local = Path(scratch) / Path(name).name
            try:
                download(
                    url,
                    str(client.token),
                    local,
                    hosts=deps.file_hosts,
                    max_bytes=deps.max_upload_bytes,
                    client=deps.http,
                )
            except DownloadError as exc:
                _reply(client, channel, thread_ts, f":warning: I could not read `{name}`: {exc}.")
                return
            dataset = deps.library.ingest(
                local,
                Origin(
                    workspace_id=payload["team"],
                    file_name=name,
                    channel_id=channel,
                    thread_ts=thread_ts,
                    uploader_id=payload.get("user"),
                    source_file_id=str(file["id"]),
                ),
            )
        if dataset.report_message_ts is not None and dataset.thread_ts == thread_ts:
            return  # a retried intake whose report is already in this thread
        file_id = str(file["id"])
        if payload.get(ATTEMPT, 1) > 1:
            earlier = ThreadSoFar.read(client, channel, thread_ts).report_about(file_id)
            if earlier is not None:  # an earlier attempt posted it, then died
                if dataset.created or dataset.report_message_ts is None:
                    deps.library.mark_reported(dataset.id, earlier)
                return
        text, blocks = stored_report_blocks(dataset, command=deps.command)
        if not dataset.created and dataset.thread_ts != thread_ts:
            text = f"These bytes were checked before as {dataset.short_id}. {text}"
        posted = client.chat_postMessage(
            channel=channel,
            thread_ts=thread_ts,
            text=text,
            blocks=blocks,
            metadata=report_metadata(file_id),
        )
        if dataset.created or dataset.report_message_ts is None:
            deps.library.mark_reported(dataset.id, str(posted["ts"]))


def _too_large(name: str, size: int, limit: int) -> str:
    return (
        f":warning: `{name}` is {size / (1 << 20):,.1f} MB, over this workspace's "
        f"{limit / (1 << 20):,.0f} MB limit. Split it, or ask an admin to raise "
        "TUNEBOT_MAX_UPLOAD_MB."
    )


def _reply(client: WebClient, channel: str, thread_ts: str, text: str) -> None:
    client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text)
