"""One model reply streamed into Discord: posted, then edited in place as it grows.

Discord has no streaming API: a reply is a message whose content is edited. Where the messages
go, and what allows their edits, is the reply's `ReplyTarget`: a channel or thread (whose edits
Discord counts per channel, 5 per 5 seconds, so every reply in a channel shares one
`CallBudget` window of that size), or an interaction's webhook for an answer only its asker
sees. On top, a reply is edited at most once per update interval (`Pace`). An edit that does
not fit is skipped and its text goes out with the next one; the edit that completes a message
always goes (it holds a reservation). discord.py waits out any 429 Discord still answers with,
honouring its rate-limit headers.

Past 2,000 characters the reply goes on in a further message, cut by the shared splitter so a
code fence open at the cut is closed in one message and reopened in the next; a reply allowed
only so many messages ends the last one with a note that it was cut. Nothing the model writes
pings anyone: every message goes out with `AllowedMentions.none()`.
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
from handlers.discord.bridge import DiscordBridge
from handlers.discord.render.limits import MAX_CONTENT
from handlers.discord.reply_targets import EDIT, ChannelTarget, ReplyTarget

TYPING_MARKER = "▍"
NO_ANSWER = "*(no answer)*"
CUT_NOTE = "-# ✂️ The answer was cut here: it is too long to show in full."
_CUT_ROOM = len(CUT_NOTE) + 1 + 300
"""Room kept in a reply's last allowed message for the cut note and the footer under it."""
EDITS_PER_WINDOW = 5
EDIT_WINDOW_SECONDS = 5.0
FINAL_ATTEMPTS = 3
_MARKER_ROOM = len(TYPING_MARKER) + 1 + len("\n```") * 2
"""Room for the marker, and for closing a fence still open while the answer is written."""

T = TypeVar("T")


def edit_budget() -> CallBudget:
    """One per process: Discord's per-channel edit bucket, shared by every reply."""
    return CallBudget({EDIT: EDITS_PER_WINDOW}, window_seconds=EDIT_WINDOW_SECONDS)


class DiscordReplyStream:
    """One reply to one target. Not thread-safe: one per task."""

    def __init__(
        self,
        bridge: DiscordBridge,
        target: ReplyTarget,
        *,
        interval: float,
        max_messages: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if max_messages is not None and max_messages < 1:
            raise ValueError("a reply needs at least one message")
        self._bridge = bridge
        self._target = target
        self._max_messages = max_messages
        self._cut = False
        self._pace = Pace(interval, clock=clock)
        self._sleep = sleep
        self._current = ""
        self._pending: list[str] = []
        self._message: str | None = None
        self._shown = ""
        self._started = False
        self._closed = False
        self.message_ids: list[str] = []

    @classmethod
    def in_channel(
        cls, bridge: DiscordBridge, budget: CallBudget, channel_id: str, *, interval: float
    ) -> DiscordReplyStream:
        """A reply in a channel or thread, its edits counted in the channel's bucket."""
        return cls(bridge, ChannelTarget(channel_id, budget), interval=interval)

    @property
    def started(self) -> bool:
        """Whether anything was posted: a retry now would answer twice."""
        return bool(self.message_ids)

    def append(self, delta: str) -> None:
        if self._closed:
            raise RuntimeError("the reply is already finished")
        if not delta or self._cut:
            return  # past the cut nothing more is shown
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
        if not self._cut:
            self._current += "".join(self._pending)
        self._pending.clear()

    def _sync(self, *, final: bool, footer: str | None) -> None:
        tail = f"\n{footer}" if footer else ""
        room = len(tail) if final else _MARKER_ROOM
        while not self._cut and len(self._current) + room > MAX_CONTENT:
            if self._on_last_message():
                self._current, _ = split_once(self._current, MAX_CONTENT - _CUT_ROOM)
                self._cut = True
                break
            limit = MAX_CONTENT if len(self._current) > MAX_CONTENT else MAX_CONTENT - room
            head, rest = split_once(self._current, limit)
            if not rest:  # fits only without what goes under it: cut once more, earlier
                head, rest = split_once(self._current, MAX_CONTENT - room - 1)
            self._show(head, final=True)
            self._message, self._shown, self._current = None, "", rest
        if self._cut:
            tail = f"\n{CUT_NOTE}{tail}"
            if final and len(self._current) + len(tail) > MAX_CONTENT:
                self._current, _ = split_once(self._current, MAX_CONTENT - len(tail))
        if final:
            self._show((self._current + tail).strip(), final=True)
        else:
            self._show(_with_marker(self._current), final=False)

    def _on_last_message(self) -> bool:
        """Whether the message being written is the last this reply may have."""
        if self._max_messages is None:
            return False
        current = len(self.message_ids) + (0 if self._message is not None else 1)
        return current >= self._max_messages

    def _show(self, text: str, *, final: bool) -> None:
        """Make the current message show `text`, posting it first if need be."""
        if not text.strip() or (self._message is not None and text == self._shown):
            return
        target, message = self._target, self._message
        try:
            if message is None:
                if not final:
                    target.reserve()  # room for the edit that completes it
                posted = self._call(lambda c: target.post(c, text), final=final)
                if posted is None:
                    return
                self._message = posted
                self.message_ids.append(posted)
            else:
                if not target.take(force=final):
                    return  # the bucket is full: this text goes with the next edit
                if not self._call(lambda c: target.edit(c, message, text), final=final):
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
