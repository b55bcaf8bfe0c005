"""One model reply streamed into a Slack thread, natively where the workspace allows it.

Slack's native streaming (chat.startStream / appendStream / stopStream) shows the answer as it is
written. A workspace or app without it refuses the first call; the reply is then posted and edited
with chat.update instead, and the refusal is remembered for the process so later replies do not
ask again. Either way Slack hears from a reply at most once per update interval, whatever the
model's token rate: tokens are free, API calls are rate limited.

Calls made while the answer is still coming are best effort: one that is rate limited is skipped
and the stream slows down. The call that completes a message must land, so it is retried.
"""

from __future__ import annotations

import contextlib
import copy
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.models.blocks import Block, MarkdownTextObject, SectionBlock
from slack_sdk.web import SlackResponse

from handlers.common.call_budget import CallBudget
from handlers.common.pacing import MAX_INTERVAL, Pace
from handlers.common.splitting import fits, split_at, split_once, split_text
from handlers.slack.blocks.layout import context, to_dicts
from handlers.slack.blocks.limits import (
    EDITS_PER_MINUTE,
    MAX_MESSAGE_TEXT,
    MAX_SECTION_TEXT,
    STREAM_CALL_MARKDOWN,
    STREAM_MESSAGE_MARKDOWN,
)
from handlers.slack.blocks.text import truncate
from handlers.slack.clients import SlackClients
from handlers.slack.mrkdwn import to_mrkdwn
from handlers.slack.slack_errors import error_code, is_transient

TYPING_MARKER = "▍"
"""Shown after the text of a reply that is still being edited in."""

NO_ANSWER = "_(no answer)_"

FINAL_ATTEMPTS = 3
"""Tries of a message's last call when Slack is busy; each try is itself retried by a WebClient
from `make_web_client`, which waits out Retry-After."""

_MAX_BROKEN_MESSAGES = 3
_MARKER_ROOM = len(TYPING_MARKER) + 1
_NOT_A_STREAMING_REFUSAL = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "channel_type_not_supported",
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
    }
)
"""startStream errors that say nothing about the workspace: fall back, but ask again next time."""
_MESSAGE_GONE = frozenset({"message_not_found", "cant_update_message"})

assert STREAM_MESSAGE_MARKDOWN <= STREAM_CALL_MARKDOWN, "a message's text must fit in one call"


class NativeStreamingMemo:
    """Per process: does native streaming work in a workspace (team id)? None until known.

    Shared by every reply in every worker thread, hence the lock.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._works: dict[str, bool] = {}

    def works(self, team_id: str) -> bool | None:
        with self._lock:
            return self._works.get(team_id)

    def record(self, team_id: str, works: bool) -> None:
        with self._lock:
            self._works[team_id] = works


@dataclass(frozen=True)
class _Target:
    channel: str
    thread_ts: str
    team_id: str
    user_id: str


class ReplyStreamer:
    """Opens reply streams; one per process, shared by the threads that run model calls."""

    def __init__(
        self,
        clients: SlackClients,
        memo: NativeStreamingMemo,
        *,
        update_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        budget: CallBudget | None = None,
    ) -> None:
        if update_interval <= 0:
            raise ValueError("update_interval must be positive")
        self.budget = budget or CallBudget(EDITS_PER_MINUTE, clock=clock)
        self.clients = clients
        self._quick: weakref.WeakKeyDictionary[WebClient, WebClient] = weakref.WeakKeyDictionary()
        self._quick_lock = threading.Lock()
        self.memo = memo
        self.update_interval = update_interval
        self.clock = clock
        self.sleep = sleep

    def client_for(self, team_id: str, *, must_land: bool) -> WebClient:
        """The workspace's client; for a best-effort call, a copy that does not wait out rate
        limits (kept as long as the workspace's client is)."""
        client = self.clients.for_team(team_id)
        if must_land:
            return client
        with self._quick_lock:
            quick = self._quick.get(client)
            if quick is None:
                quick = self._quick[client] = _without_rate_limit_retries(client)
            return quick

    def open(self, *, channel: str, thread_ts: str, team_id: str, user_id: str) -> ReplyStream:
        """A reply in the thread of `thread_ts`, to `user_id` of workspace `team_id`."""
        return ReplyStream(self, _Target(channel, thread_ts, team_id, user_id))


class _SlackBusyError(Exception):
    """Slack is busy: skip this best-effort call and try again at a later update."""


class _OverBudgetError(_SlackBusyError):
    """The workspace's allowance for this call is spent: try again at the next update, at the
    same pace (other replies are using the allowance, Slack did not complain)."""


class _StreamBrokenError(Exception):
    """The streaming message takes no more text (stopped by Slack, too long...)."""


class _NativeUnavailableError(Exception):
    def __init__(self, *, remember: bool) -> None:
        super().__init__("native streaming unavailable")
        self.remember = remember


class ReplyStream:
    """One reply, written into Slack as the model produces it. Not thread-safe: one per task."""

    def __init__(self, streamer: ReplyStreamer, target: _Target) -> None:
        self._streamer = streamer
        self._target = target
        self._native = streamer.memo.works(target.team_id) is not False
        self._pace = Pace(streamer.update_interval, clock=streamer.clock)
        self._pending: list[str] = []
        self._current = ""
        """Markdown of the message being written, as far as flushed (starts with a reopened fence
        when the previous message ended inside one)."""
        self._sent = 0
        """Native: how much of `_current` Slack already has."""
        self._shown = ""
        """Fallback: the text the current message shows."""
        self._ts: str | None = None
        self._started = False
        self._closed = False
        self._broken = 0
        self.message_ts: list[str] = []
        self.calls = 0

    # -- the interface -----------------------------------------------------------------------

    def append(self, delta: str) -> None:
        """Add model output; calls Slack only on the first text and then once per interval."""
        if self._closed:
            raise RuntimeError("the reply is already finished")
        if not delta:
            return
        self._pending.append(delta)
        if not self._started:
            if not delta.strip():
                return
            self._started = True
            self._pending = ["".join(self._pending).lstrip()]
            self._flush()
        elif self._pace.due():
            self._flush()

    def finish(self, *, footer: str | None = None) -> list[str]:
        """Show the whole answer, `footer` (mrkdwn) in a context block under it; the ts of every
        message the reply used."""
        self._close()
        if self._started:
            self._sync(final=True, footer=footer)
        else:
            self._show(NO_ANSWER, done=True, must_land=True, footer=footer)
        return list(self.message_ts)

    def fail(self, text: str) -> list[str]:
        """The model call broke off: keep what was written and put the note `text` (mrkdwn, so
        escape what the provider wrote) under it, or post the note alone if nothing was."""
        self._close()
        if self._started:
            self._sync(final=True, footer=text)
        else:
            self._show(truncate(text, MAX_MESSAGE_TEXT), done=True, must_land=True, footer=None)
        return list(self.message_ts)

    # -- pacing ------------------------------------------------------------------------------

    def _close(self) -> None:
        if self._closed:
            raise RuntimeError("the reply is already finished")
        self._closed = True
        self._current += "".join(self._pending)
        self._pending.clear()

    def _flush(self) -> None:
        self._current += "".join(self._pending)
        self._pending.clear()
        self._pace.updated()
        self._sync(final=False, footer=None)

    def _sync(self, *, final: bool, footer: str | None) -> None:
        try:
            if self._native:
                self._native_sync(final=final, footer=footer)
            else:
                self._fallback_sync(final=final, footer=footer)
        except _OverBudgetError:
            pass  # the pace already points one interval ahead
        except _SlackBusyError:
            self._pace.slow_down()

    # -- native streaming --------------------------------------------------------------------

    def _native_sync(self, *, final: bool, footer: str | None) -> None:
        try:
            while True:
                try:
                    self._native_write(final=final, footer=footer)
                    return
                except _StreamBrokenError:
                    self._broken += 1
                    if self._broken > _MAX_BROKEN_MESSAGES:
                        raise _NativeUnavailableError(remember=False) from None
                    self._abandon_message()
        except _NativeUnavailableError as refusal:
            if refusal.remember:
                self._streamer.memo.record(self._target.team_id, False)
            self._native = False
            self._fallback_sync(final=final, footer=footer)

    def _native_write(self, *, final: bool, footer: str | None) -> None:
        while not fits(self._current, STREAM_MESSAGE_MARKDOWN):
            head, rest = split_once(self._current, STREAM_MESSAGE_MARKDOWN, keep=self._sent)
            real = _shared_prefix(head, self._current)
            self._native_put(real, must_land=final)
            self._native_stop(head[real:], None, must_land=final)
            self._current, self._sent = rest, 0
        if not final:
            self._native_put(len(self._current), must_land=False)
            return
        new = self._current[self._sent :]
        if self._ts is None:
            if not new.strip() and footer is None:
                return
            self._native_put(len(self._current), must_land=True, even_blank=True)
            new = ""
        self._native_stop(new, footer, must_land=True)
        self._sent = len(self._current)

    def _native_put(self, upto: int, *, must_land: bool, even_blank: bool = False) -> None:
        """Get `_current[:upto]` into Slack: start the message, or append to it."""
        new = self._current[self._sent : upto]
        t = self._target
        if self._ts is None:
            if not new.strip() and not even_blank:
                return
            try:
                response = self._call(
                    "chat.startStream",
                    lambda c: c.chat_startStream(
                        channel=t.channel,
                        thread_ts=t.thread_ts,
                        markdown_text=new or None,
                        recipient_team_id=t.team_id,
                        recipient_user_id=t.user_id,
                    ),
                    must_land=must_land,
                )
            except SlackApiError as error:
                refusal = error_code(error)
                remember = not is_transient(error) and refusal not in _NOT_A_STREAMING_REFUSAL
                raise _NativeUnavailableError(remember=remember) from error
            self._ts = str(response["ts"])
            self.message_ts.append(self._ts)
            self._streamer.memo.record(t.team_id, True)
        elif new:
            ts = self._ts
            try:
                self._call(
                    "chat.appendStream",
                    lambda c: c.chat_appendStream(channel=t.channel, ts=ts, markdown_text=new),
                    must_land=must_land,
                )
            except SlackApiError as error:
                if is_transient(error):
                    raise
                raise _StreamBrokenError(error_code(error)) from error
        self._sent = upto

    def _native_stop(self, text: str, footer: str | None, *, must_land: bool) -> None:
        if self._ts is None:
            return
        ts, channel = self._ts, self._target.channel
        blocks = to_dicts([context(footer)]) if footer is not None else None
        try:
            self._call(
                "chat.stopStream",
                lambda c: c.chat_stopStream(
                    channel=channel, ts=ts, markdown_text=text or None, blocks=blocks
                ),
                must_land=must_land,
            )
        except SlackApiError as error:
            if is_transient(error):
                raise
            raise _StreamBrokenError(error_code(error)) from error
        self._ts = None

    def _abandon_message(self) -> None:
        """Leave a broken streaming message as it is; what it lacks goes on in a new one."""
        if self._ts is not None:
            ts, channel = self._ts, self._target.channel
            # It may be stopped already; nothing more can be done with it either way.
            with contextlib.suppress(SlackApiError, _SlackBusyError):
                self._call(
                    "chat.stopStream",
                    lambda c: c.chat_stopStream(channel=channel, ts=ts),
                    must_land=False,
                )
        self._ts = None
        _, self._current = split_at(self._current, self._sent)
        self._sent = 0

    # -- fallback: post, then edit -----------------------------------------------------------

    def _fallback_sync(self, *, final: bool, footer: str | None) -> None:
        rendered = to_mrkdwn(self._current)
        while len(rendered) > MAX_MESSAGE_TEXT - _MARKER_ROOM:
            head, rest = _cut_to_fit(self._current)
            self._show(to_mrkdwn(head), done=True, must_land=final, footer=None)
            self._ts, self._shown, self._current = None, "", rest
            rendered = to_mrkdwn(rest)
        if final:
            self._show(rendered, done=True, must_land=True, footer=footer)
        else:
            self._show(_with_marker(rendered), done=False, must_land=False, footer=None)

    def _show(self, text: str, *, done: bool, must_land: bool, footer: str | None) -> None:
        """Make the current message show `text` (posting it first if need be)."""
        if not text.strip() and footer is None:
            return
        blocks = _final_blocks(text, footer) if done and footer is not None else None
        if self._ts is not None and text == self._shown and blocks is None:
            return
        t, ts = self._target, self._ts
        fallback_text = text if text.strip() else (footer or "")
        try:
            if ts is None:
                if not done:
                    # This message will be edited once more to complete it: keep room for that.
                    self._streamer.budget.reserve(t.team_id, "chat.update")
                response = self._call(
                    "chat.postMessage",
                    lambda c: c.chat_postMessage(
                        channel=t.channel, thread_ts=t.thread_ts, text=fallback_text, blocks=blocks
                    ),
                    must_land=must_land,
                )
                self._ts = str(response["ts"])
                self.message_ts.append(self._ts)
            else:
                self._call(
                    "chat.update",
                    lambda c: c.chat_update(
                        channel=t.channel, ts=ts, text=fallback_text, blocks=blocks
                    ),
                    must_land=must_land,
                )
        except SlackApiError as error:
            if ts is None or error_code(error) not in _MESSAGE_GONE:
                raise
            self._ts = None  # someone deleted the message: go on in a new one
            self._show(text, done=done, must_land=must_land, footer=footer)
            return
        self._shown = text

    # -- calls -------------------------------------------------------------------------------

    def _call(
        self, method: str, send: Callable[[WebClient], SlackResponse], *, must_land: bool
    ) -> SlackResponse:
        """One Slack call. Best effort: skipped when the workspace's allowance for `method` is
        spent, and _SlackBusyError at once when rate limited. Must land: always sent, retried
        after Retry-After (on top of the client's own retries), up to FINAL_ATTEMPTS."""
        if not self._streamer.budget.take(self._target.team_id, method, force=must_land):
            raise _OverBudgetError(f"{method}: this workspace's allowance is spent for now")
        client = self._streamer.client_for(self._target.team_id, must_land=must_land)
        attempt = 0
        while True:
            self.calls += 1
            try:
                return send(client)
            except SlackApiError as error:
                if not is_transient(error):
                    raise
                if not must_land:
                    raise _SlackBusyError(error_code(error)) from error
                attempt += 1
                if attempt >= FINAL_ATTEMPTS:
                    raise
                self._streamer.sleep(_retry_delay(error, attempt))


# -- helpers -----------------------------------------------------------------------------------


def _without_rate_limit_retries(client: WebClient) -> WebClient:
    """The same client minus waiting out 429s: a skipped intermediate update costs nothing, while
    sleeping through Retry-After would stall the model's token stream."""
    quick = copy.copy(client)
    quick.retry_handlers = [
        handler
        for handler in client.retry_handlers
        if not isinstance(handler, RateLimitErrorRetryHandler)
    ]
    return quick


def _retry_delay(error: SlackApiError, attempt: int) -> float:
    response: Any = error.response
    header = response.headers.get("Retry-After") if response is not None else None
    try:
        return float(header) if header else float(min(2**attempt, MAX_INTERVAL))
    except ValueError:
        return float(min(2**attempt, MAX_INTERVAL))


def _shared_prefix(a: str, b: str) -> int:
    """How much of a rollover's first part is the answer's own text, not a closing fence."""
    n = min(len(a), len(b))
    return next((i for i in range(n) if a[i] != b[i]), n)


def _with_marker(rendered: str) -> str:
    """The marker goes on its own line after a code block, which would otherwise swallow it."""
    if not rendered:
        return TYPING_MARKER
    separator = "\n" if rendered.endswith("```") else " "
    return f"{rendered}{separator}{TYPING_MARKER}"


def _cut_to_fit(markdown: str) -> tuple[str, str]:
    """A first part whose mrkdwn fits one message: escaping can make the mrkdwn longer than the
    Markdown, so the Markdown cut shrinks until it does."""
    limit = MAX_MESSAGE_TEXT
    while True:
        head, rest = split_once(markdown, limit)
        size = len(to_mrkdwn(head))
        if size <= MAX_MESSAGE_TEXT or limit <= MAX_SECTION_TEXT // 10:
            return head, rest
        limit = min(limit - 1, limit * MAX_MESSAGE_TEXT // size)


def _final_blocks(text: str, footer: str) -> list[dict[str, Any]]:
    """The text in sections (not verbatim, so bare URLs still link as in `text`), then the
    footer as a context line."""
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=part))
        for part in split_text(text, MAX_SECTION_TEXT)
        if part.strip()
    ]
    blocks.append(context(footer))
    return to_dicts(blocks)
