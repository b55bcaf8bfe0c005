"""One model reply streamed into a Discord thread: posted, then edited in place as it grows.

Discord has no streaming API: a reply is a message whose content is edited. Discord counts
message edits per channel (5 per 5 seconds, the "channel bucket"), so every reply in a channel
shares one `CallBudget` window of that size; on top, a reply is edited at most once per update
interval (`Pace`). An edit that does not fit is skipped and its text goes out with the next one;
the edit that completes a message always goes (it holds a reservation). discord.py waits out
any 429 Discord still answers with, honouring its rate-limit headers.

Past 2,000 characters the reply goes on in a further message, cut by the shared splitter so a
code fence open at the cut is closed in one message and reopened in the next. Nothing the model
writes pings anyone: every message goes out with `AllowedMentions.none()`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import discord

from finetuning.tasks import RetryLaterError
from handlers.common.call_budget import CallBudget
from handlers.common.pacing import Pace
from handlers.common.splitting import open_fence, split_once
from handlers.discord import calls
from handlers.discord.bridge import DiscordBridge
from handlers.discord.render.limits import MAX_CONTENT

TYPING_MARKER = "▍"
NO_ANSWER = "*(no answer)*"
EDIT = "edit"
EDITS_PER_WINDOW = 5
EDIT_WINDOW_SECONDS = 5.0
FINAL_ATTEMPTS = 3
_MARKER_ROOM = len(TYPING_MARKER) + 1 + len("\n```") * 2
"""Room for the marker, and for closing a fence still open while the answer is written."""

T = TypeVar("T")

SILENT = discord.AllowedMentions.none()
"""What a model writes is shown, never obeyed: `@everyone`, roles and users are not pinged."""


def edit_budget() -> CallBudget:
    """One per process: Discord's per-channel edit bucket, shared by every reply."""
    return CallBudget({EDIT: EDITS_PER_WINDOW}, window_seconds=EDIT_WINDOW_SECONDS)


class DiscordReplyStream:
    """One reply in one channel or thread. Not thread-safe: one per task."""

    def __init__(
        self,
        bridge: DiscordBridge,
        budget: CallBudget,
        channel_id: str,
        *,
        interval: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._bridge = bridge
        self._budget = budget
        self._channel = channel_id
        self._pace = Pace(interval, clock=clock)
        self._sleep = sleep
        self._current = ""
        self._pending: list[str] = []
        self._message: str | None = None
        self._shown = ""
        self._started = False
        self._closed = False
        self.message_ids: list[str] = []

    @property
    def started(self) -> bool:
        """Whether anything was posted: a retry now would answer twice."""
        return bool(self.message_ids)

    def append(self, delta: str) -> None:
        if self._closed:
            raise RuntimeError("the reply is already finished")
        if not delta:
            return
        self._pending.append(delta)
        if not self._started:
            if not "".join(self._pending).strip():
                return
            self._started = True
            self._pending = ["".join(self._pending).lstrip()]
        elif not self._pace.due():
            return
        self._current += "".join(self._pending)
        self._pending.clear()
        self._pace.updated()
        self._sync(final=False, footer=None)

    def finish(self, footer: str | None = None) -> list[str]:
        """Show the whole answer with `footer` (small print) under it; every message's id."""
        self._close()
        if not self._current.strip():
            self._current = NO_ANSWER
        self._sync(final=True, footer=footer)
        return list(self.message_ids)

    def fail(self, note: str) -> list[str]:
        """The reply broke off: what was written stays, `note` goes under it (or alone)."""
        self._close()
        self._sync(final=True, footer=note)
        return list(self.message_ids)

    def _close(self) -> None:
        if self._closed:
            raise RuntimeError("the reply is already finished")
        self._closed = True
        self._current += "".join(self._pending)
        self._pending.clear()

    def _sync(self, *, final: bool, footer: str | None) -> None:
        tail = f"\n{footer}" if footer else ""
        room = len(tail) if final else _MARKER_ROOM
        while len(self._current) + room > MAX_CONTENT:
            limit = MAX_CONTENT if len(self._current) > MAX_CONTENT else MAX_CONTENT - room
            head, rest = split_once(self._current, limit)
            if not rest:  # fits only without what goes under it: cut once more, earlier
                head, rest = split_once(self._current, MAX_CONTENT - room - 1)
            self._show(head, final=True)
            self._message, self._shown, self._current = None, "", rest
        if final:
            self._show((self._current + tail).strip(), final=True)
        else:
            self._show(_with_marker(self._current), final=False)

    def _show(self, text: str, *, final: bool) -> None:
        """Make the current message show `text`, posting it first if need be."""
        if not text.strip() or (self._message is not None and text == self._shown):
            return
        channel, message = self._channel, self._message
        try:
            if message is None:
                if not final:
                    self._budget.reserve(channel, EDIT)  # room for the edit that completes it
                posted = self._call(
                    lambda c: calls.send(c, channel, content=text, allowed_mentions=SILENT),
                    final=final,
                )
                if posted is None:
                    return
                self._message = str(posted.id)
                self.message_ids.append(self._message)
            else:
                if not self._budget.take(channel, EDIT, force=final):
                    return  # the channel's bucket is full: this text goes with the next edit
                edited = self._call(
                    lambda c: calls.edit(
                        c, channel, message, content=text, allowed_mentions=SILENT
                    ),
                    final=final,
                )
                if edited is None:
                    return
        except discord.NotFound:
            if message is None:
                raise
            self._message, self._shown = None, ""  # someone deleted it: go on in a new one
            self._show(text, final=final)
            return
        self._shown = text

    def _call(self, work: Callable[[discord.Client], Awaitable[T]], *, final: bool) -> T | None:
        """Best effort while the answer grows (None: skipped, and the reply slows down); the
        call that completes a message is tried again a few times."""
        attempt = 0
        while True:
            try:
                return self._bridge.call(work)
            except RetryLaterError:
                if not final:
                    self._pace.slow_down()
                    return None
                attempt += 1
                if attempt >= FINAL_ATTEMPTS:
                    raise
                self._sleep(float(2**attempt))


def _with_marker(text: str) -> str:
    """A code block still being written is shown closed (Discord shows an unclosed fence as
    backticks), and the marker goes on its own line after it, where no code block swallows it."""
    if not text:
        return TYPING_MARKER
    opener = open_fence(text)
    if opener is not None:
        fence = opener.strip()
        closer = fence[: len(fence) - len(fence.lstrip(fence[0]))]
        text = f"{text.rstrip()}\n{closer}"
    separator = "\n" if text.endswith("```") or text.endswith("~~~") else " "
    return f"{text}{separator}{TYPING_MARKER}"
