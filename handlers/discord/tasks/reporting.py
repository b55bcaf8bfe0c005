"""Posting a dataset's validation report in a thread, for an upload and for a fixed file.

The report goes out in as many messages as its embeds need (`limits.batches`); the first may
carry more (a note, the fixed file), the last carries the buttons: **Start fine-tune** when the
dataset will train, **Fix and re-upload** when a mechanical fix would change something.
"""

from __future__ import annotations

from typing import Any

import discord

from finetuning.datasets.fixes import planned_fixes
from finetuning.datasets.library import StoredDataset
from handlers.discord import calls
from handlers.discord.deps import DiscordDeps
from handlers.discord.render.limits import batches
from handlers.discord.render.report import report_embeds
from handlers.discord.render.views import buttons


def report_actions(dataset: StoredDataset) -> list[tuple[str, int]]:
    """The buttons under a dataset's report."""
    actions: list[tuple[str, int]] = []
    if dataset.valid:
        actions.append(("start", dataset.id))
    if planned_fixes(dataset.report):
        actions.append(("fix", dataset.id))
    return actions


def post_report(
    deps: DiscordDeps,
    where: str,
    dataset: StoredDataset,
    *,
    footer: str,
    first: dict[str, Any] | None = None,
    nonce: str | None = None,
) -> discord.Message:
    """Post the report; returns its first message.

    `first` is what else the first message carries (a note, files). With `nonce`, message n
    is sent with nonce `nonce` + n (Discord's `enforce_nonce`): sending it again within a few
    minutes, as a task retried after a crash does, returns the message already posted instead
    of posting a second one.
    """
    embeds = report_embeds(
        dataset.report, dataset.short_id, footer=footer, fixable=planned_fixes(dataset.report)
    )
    actions = report_actions(dataset)
    groups = batches(embeds)
    posted: list[discord.Message] = []
    for index, group in enumerate(groups):
        kwargs: dict[str, Any] = {"embeds": group}
        if index == 0 and first is not None:
            kwargs.update(first)
        if index == len(groups) - 1 and actions:
            kwargs["view"] = buttons(*actions)
        if nonce is not None:
            kwargs["nonce"] = f"{nonce}{index}"
        posted.append(_send(deps, where, kwargs))
    return posted[0]


def _send(deps: DiscordDeps, where: str, kwargs: dict[str, Any]) -> discord.Message:
    return deps.bridge.call(lambda c: calls.send(c, where, **kwargs))
