"""An attachment posted in a channel, from download to the report in a thread on its message.

A restart at any point neither loses nor repeats the report: the task is durable, the thread is
found again if it exists (a thread on a message has the message's id), the dataset is found by
its bytes, and a report an earlier attempt posted is found by its footer naming the attachment.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import discord

from finetuning.datasets.library import Origin, StoredDataset
from finetuning.tasks import ATTEMPT
from handlers.discord import calls
from handlers.discord.deps import DiscordDeps
from handlers.discord.files import DownloadError, download, is_dataset_name
from handlers.discord.render.limits import cut
from handlers.discord.render.report import report_footer
from handlers.discord.tasks.reporting import post_report

log = logging.getLogger(__name__)

THREAD_EXISTS = 160004
"""Discord's code for "a thread has already been created for this message"."""


@dataclass(frozen=True)
class Posted:
    id: int
    name: str
    size: int
    url: str


def run_intake(deps: DiscordDeps, payload: dict[str, Any]) -> None:
    channel = payload["channel"]
    message_id = int(payload["message"])
    where = payload.get("thread") or channel
    files = deps.bridge.call(lambda c: _attachments(c, where, message_id))
    if files is None:
        return  # the message is gone
    datasets = [f for f in files if is_dataset_name(f.name)]
    if not datasets:
        return
    thread = payload.get("thread") or deps.bridge.call(
        lambda c: _thread_on(c, channel, message_id, datasets[0].name)
    )
    for file in datasets:
        _check_one(deps, payload, str(thread), file)


def _check_one(deps: DiscordDeps, payload: dict[str, Any], thread: str, file: Posted) -> None:
    if file.size > deps.max_upload_bytes:
        _say(deps, thread, _too_large(file, deps.max_upload_bytes))
        return
    with tempfile.TemporaryDirectory(prefix="tunebot-intake-") as scratch:
        local = Path(scratch) / Path(file.name).name
        try:
            download(
                file.url,
                local,
                hosts=deps.file_hosts,
                max_bytes=deps.max_upload_bytes,
                client=deps.http,
            )
        except DownloadError as exc:
            _say(deps, thread, f"⚠️ I could not read `{file.name}`: {exc}.")
            return
        dataset = deps.library.ingest(
            local,
            Origin(
                workspace_id=payload["workspace"],
                file_name=file.name,
                channel_id=payload["channel"],
                thread_ts=thread,
                uploader_id=payload.get("user"),
                source_file_id=str(file.id),
            ),
        )
    if dataset.report_message_ts is not None and dataset.thread_ts == thread:
        return  # a retried intake whose report is already in this thread
    if payload.get(ATTEMPT, 1) > 1:
        footer = report_footer(file.id)
        earlier = deps.bridge.call(
            lambda c: calls.find_mine(
                c, thread, lambda m: any(e.footer.text == footer for e in m.embeds)
            )
        )
        if earlier is not None:  # an earlier attempt posted it, then died
            if dataset.created or dataset.report_message_ts is None:
                deps.library.mark_reported(dataset.id, str(earlier.id))
            return
    first = _post_report(deps, thread, dataset, file)
    if dataset.created or dataset.report_message_ts is None:
        deps.library.mark_reported(dataset.id, str(first))


def _post_report(deps: DiscordDeps, thread: str, dataset: StoredDataset, file: Posted) -> int:
    """Post the report (the footer naming the attachment); returns its first message's id."""
    first: dict[str, Any] = {}
    if not dataset.created and dataset.thread_ts != thread:
        first["content"] = f"These bytes were checked before as {dataset.short_id}."
    return post_report(deps, thread, dataset, footer=report_footer(file.id), first=first).id


async def _attachments(
    client: discord.Client, channel: str, message_id: int
) -> list[Posted] | None:
    """The message's attachments with fresh signed URLs (an old task's would have expired)."""
    place = await calls.channel(client, channel)
    assert isinstance(place, discord.TextChannel | discord.Thread)
    try:
        message = await place.fetch_message(message_id)
    except discord.NotFound:
        return None
    return [Posted(a.id, a.filename, a.size, a.url) for a in message.attachments]


async def _thread_on(client: discord.Client, channel: str, message_id: int, name: str) -> int:
    """The thread on the message: created, or the one an earlier attempt created."""
    place = await calls.channel(client, channel)
    assert isinstance(place, discord.TextChannel)
    message = place.get_partial_message(message_id)
    try:
        thread = await message.create_thread(name=cut(f"{name} · tunebot", 100))
    except discord.HTTPException as exc:
        if exc.code != THREAD_EXISTS:
            raise
        return message_id  # a thread started from a message has the message's id
    return thread.id


def _say(deps: DiscordDeps, where: str, text: str) -> None:
    deps.bridge.call(lambda c: calls.send(c, where, content=text))


def _too_large(file: Posted, limit: int) -> str:
    return (
        f"⚠️ `{file.name}` is {file.size / (1 << 20):,.1f} MB, over this server's "
        f"{limit / (1 << 20):,.0f} MB limit. Split it, or ask an admin to raise "
        "TUNEBOT_MAX_UPLOAD_MB."
    )
