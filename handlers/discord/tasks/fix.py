""" "Fix and re-upload" on Discord: one message in the dataset's thread carries the fixed file,
what was changed, and the new dataset's report with its buttons.

Posted once however often it runs: the fixed file is ingested first (a dataset is its bytes, so
a retry or a second click finds the same fixed dataset), nothing is posted when that dataset's
report is already in the thread, an earlier run's message is found by its footer when the
dataset was not new to this run, and the post carries a nonce Discord enforces, derived from the
thread and the fixed dataset, so two runs racing (or one retried right after a crash) post one
message between them.
"""

from __future__ import annotations

import hashlib
from typing import Any

import discord

from finetuning.datasets.library import DatasetNotFoundError
from finetuning.datasets.refix import FixedDataset, StoredFileGoneError, fix_dataset
from handlers.discord import calls
from handlers.discord.deps import DiscordDeps
from handlers.discord.render.limits import MAX_CONTENT, cut
from handlers.discord.render.report import fix_footer
from handlers.discord.tasks.answers import tell
from handlers.discord.tasks.reporting import post_report

NONCE_PREFIX = "fix"
NONCE_DIGEST_CHARS = 20
"""Discord takes nonces of up to 25 characters: prefix, digest and a message index fit."""


def fix_payload(
    *,
    workspace: str,
    channel: str | None,
    thread: str | None,
    dataset: str,
    user: str,
    interaction: dict[str, Any] | None,
) -> dict[str, Any]:
    """The task payload: plain JSON, so the task survives a restart."""
    return {
        "workspace": workspace,
        "channel": channel,
        "thread": thread,
        "dataset": dataset,
        "user": user,
        "interaction": interaction,
    }


def run_fix(deps: DiscordDeps, payload: dict[str, Any]) -> None:
    try:
        done = fix_dataset(
            deps.library,
            deps.data_dir,
            payload["workspace"],
            payload["dataset"],
            channel_id=payload.get("channel"),
            thread=payload.get("thread"),
            user_id=payload["user"],
        )
    except DatasetNotFoundError:
        tell(deps, payload, "That dataset is gone; upload the file again.")
        return
    except StoredFileGoneError:
        tell(deps, payload, "The stored file of that dataset is gone; upload the file again.")
        return
    where = done.thread or done.channel_id
    if where is None:  # a dataset with no place at all: nothing to post into
        tell(deps, payload, "I do not know where that dataset's thread is; upload it again.")
        return
    fixed = done.fixed
    if done.already_reported_here:
        tell(deps, payload, f"{fixed.short_id}, the fixed file, is already in this thread.")
        return
    footer = fix_footer(fixed.short_id, done.source.short_id)
    earlier = None
    if not fixed.created:  # an earlier run (or another click) may have posted it, then died
        earlier = deps.bridge.call(
            lambda c: calls.find_mine(
                c, where, lambda m: any(e.footer.text == footer for e in m.embeds)
            )
        )
    posted = earlier or post_report(
        deps,
        where,
        fixed,
        footer=footer,
        first=_file_and_changes(done, payload["user"]),
        nonce=_nonce(where, fixed.id),
    )
    if done.should_mark:
        deps.library.mark_reported(fixed.id, str(posted.id))
    tell(deps, payload, f"Fixed {done.source.short_id} as {fixed.short_id}: {posted.jump_url}")


def _file_and_changes(done: FixedDataset, user: str) -> dict[str, Any]:
    changes = "\n".join(f"• {change}" for change in done.changes) or "• nothing to change"
    return {
        "content": cut(f"Fixed {done.source.short_id} for <@{user}>:\n{changes}", MAX_CONTENT),
        "files": [discord.File(done.path, filename=done.file_name)],
        "allowed_mentions": discord.AllowedMentions(users=True, everyone=False, roles=False),
    }


def _nonce(where: str, fixed_id: int) -> str:
    """The same for every run posting this fixed dataset's report in this thread."""
    digest = hashlib.blake2b(f"{where}:{fixed_id}".encode(), digest_size=16).hexdigest()
    return NONCE_PREFIX + digest[:NONCE_DIGEST_CHARS]
