"""`/finetune ask` and `/finetune compare` (and the **Compare with base** modal).

A public question is posted as the bot's message quoting the asker; the answer streams into
its thread, which is then a conversation like any other: replies there continue it. A private
question is answered once, through the command's response_url, which only the asker sees.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_sdk.errors import SlackApiError

from finetuning.conversations import (
    ModelRefError,
    Question,
    ReplySettings,
    TalkError,
    TalkStream,
    talk_error,
)
from finetuning.provider import ProviderError
from finetuning.tasks import RetryLaterError
from handlers.common.splitting import split_text
from handlers.slack.blocks.conversation import (
    Column,
    compare_blocks,
    problem_text,
    question_text,
    reply_footer,
)
from handlers.slack.blocks.limits import MAX_MESSAGE_TEXT
from handlers.slack.blocks.text import escape_mrkdwn, truncate
from handlers.slack.deps import SlackDeps
from handlers.slack.model_refs import names_a_model
from handlers.slack.mrkdwn import to_mrkdwn
from handlers.slack.slack_errors import is_transient
from handlers.slack.tasks.command import respond_privately
from handlers.slack.tasks.slack_calls import slack_transient_as_retry
from handlers.slack.tasks.talk import answer_in_thread


def ask_payload(
    *,
    team: str,
    channel: str,
    user: str,
    words: list[str],
    text: str,
    private: bool,
    response_url: str | None,
) -> dict[str, Any]:
    return {
        "team": team,
        "channel": channel,
        "user": user,
        "words": words,
        "text": text,
        "private": private,
        "response_url": response_url,
    }


def compare_payload(
    *,
    team: str,
    channel: str,
    user: str,
    models: list[str],
    question: str,
    thread_ts: str | None,
    response_url: str | None,
) -> dict[str, Any]:
    return {
        "team": team,
        "channel": channel,
        "user": user,
        "models": models,
        "question": question,
        "thread_ts": thread_ts,
        "response_url": response_url,
    }


def run_ask(deps: SlackDeps, payload: dict[str, Any]) -> None:
    team, channel, user = payload["team"], payload["channel"], payload["user"]
    words: list[str] = payload["words"]
    text: str = payload["text"]
    settings = ReplySettings()
    if words and names_a_model(words[0], deps.catalog) and len(words) > 1:
        ref, question = words[0], text[text.index(words[0]) + len(words[0]) :].strip()
    else:
        binding = deps.bindings.lookup(team, channel, None)
        if binding is None:
            _private(
                deps,
                payload,
                ":grey_question: No model is bound to this channel: name one, as in "
                "`/finetune ask gpt-4o-mini What is…?`, or bind one with `/finetune use MODEL`.",
            )
            return
        ref, question, settings = binding.model, text, binding.settings
    resolved = _resolve(deps, payload, [ref])
    if resolved is None:
        return
    (model,) = resolved
    if payload["private"]:
        _answer_privately(deps, payload, model, settings, question)
        return
    with slack_transient_as_retry():
        root = deps.clients.for_team(team).chat_postMessage(
            channel=channel, text=question_text(user, model, question), unfurl_links=False
        )
    thread_ts = str(root["ts"])
    conversation = deps.conversations.open(team, channel, thread_ts, model, settings, by=user)
    deps.conversations.add_user_turn(conversation.id, thread_ts, question, user)
    answer_in_thread(deps, conversation, payload, thread_ts)


def _answer_privately(
    deps: SlackDeps, payload: dict[str, Any], model: str, settings: ReplySettings, question: str
) -> None:
    """No streaming here: an ephemeral answer can be sent, not edited as it grows."""
    reply = deps.talk.reply(payload["team"], model, settings, [Question(question)])
    try:
        text = "".join(reply)
    except TalkError as error:
        _private(
            deps,
            payload,
            f":warning: {escape_mrkdwn(error.message)}\n_{escape_mrkdwn(error.hint)}_",
        )
        return
    answer = truncate(to_mrkdwn(text), MAX_MESSAGE_TEXT)
    _private(deps, payload, f"{answer}\n\n_{reply_footer(reply.result)}_")


def run_compare(deps: SlackDeps, payload: dict[str, Any]) -> None:
    """Both models at once, shown side by side in one message that is edited as they write."""
    team, question = payload["team"], payload["question"]
    models = _resolve(deps, payload, payload["models"])
    if models is None:
        return
    columns = [Column(model) for model in models]
    board = _Board(deps, payload, columns)
    with slack_transient_as_retry():
        board.post()
    streams = [
        deps.talk.reply(team, model, ReplySettings(), [Question(question)]) for model in models
    ]
    with ThreadPoolExecutor(max_workers=len(streams), thread_name_prefix="compare") as pool:
        running = [
            pool.submit(_fill, stream, column, board.changed)
            for stream, column in zip(streams, columns, strict=True)
        ]
        while not all(future.done() for future in running):
            board.changed.wait(deps.stream_update_seconds)
            board.changed.clear()
            board.refresh()
        for future in running:
            future.result()
    with slack_transient_as_retry():
        board.refresh(final=True)
        for column in columns:
            if column.too_long:
                board.post_in_thread(column)


def _fill(stream: TalkStream, column: Column, changed: threading.Event) -> None:
    try:
        for delta in stream:
            column.text += delta
            changed.set()
        column.footer = reply_footer(stream.result)
    except TalkError as error:
        column.error = f"{error.message} {error.hint}"
    finally:
        column.done = True
        changed.set()


class _Board:
    """The comparison message: posted once, edited at most once per update interval and only
    when the workspace's allowance for edits (shared with streamed replies) has room."""

    def __init__(self, deps: SlackDeps, payload: dict[str, Any], columns: list[Column]) -> None:
        self._deps = deps
        self._payload = payload
        self._columns = columns
        self.changed = threading.Event()
        self._ts: str | None = None
        self._last = 0.0
        self._shown = ""

    def post(self) -> None:
        text, blocks = compare_blocks(
            self._payload["user"], self._payload["question"], self._columns
        )
        posted = self._deps.clients.for_team(self._payload["team"]).chat_postMessage(
            channel=self._payload["channel"],
            thread_ts=self._payload.get("thread_ts"),
            text=text,
            blocks=blocks,
        )
        self._ts = str(posted["ts"])
        self._deps.streamer.budget.reserve(self._payload["team"], "chat.update")

    def refresh(self, *, final: bool = False) -> None:
        if self._ts is None:
            return
        if not final and time.monotonic() - self._last < self._deps.stream_update_seconds:
            return
        text, blocks = compare_blocks(
            self._payload["user"], self._payload["question"], self._columns
        )
        shown = repr(blocks)
        if shown == self._shown and not final:
            return
        streamer = self._deps.streamer
        if not streamer.budget.take(self._payload["team"], "chat.update", force=final):
            return
        # The last edit waits out a rate limit; an intermediate one is simply skipped.
        client = streamer.client_for(self._payload["team"], must_land=final)
        try:
            client.chat_update(
                channel=self._payload["channel"], ts=self._ts, text=text, blocks=blocks
            )
        except SlackApiError as error:
            if final or not is_transient(error):
                raise
            return
        self._shown, self._last = shown, time.monotonic()

    def post_in_thread(self, column: Column) -> None:
        """A long answer in full, in the comparison's thread, split at Slack's limits."""
        thread = self._payload.get("thread_ts") or self._ts
        for part in split_text(to_mrkdwn(column.text), MAX_MESSAGE_TEXT):
            self._deps.clients.for_team(self._payload["team"]).chat_postMessage(
                channel=self._payload["channel"],
                thread_ts=thread,
                text=f"*{column.model}*\n{part}",
                unfurl_links=False,
            )


def _resolve(deps: SlackDeps, payload: dict[str, Any], refs: list[str]) -> list[str] | None:
    """The model ids the references stand for; None (the asker told why) if one does not."""
    try:
        return [deps.resolver.resolve_model(payload["team"], ref) for ref in refs]
    except (ModelRefError, ProviderError) as error:
        problem = talk_error(error, " ".join(refs))
        if problem is None or problem.retryable:
            raise RetryLaterError(str(error)) from error
        _private(deps, payload, problem_text(problem))
        return None


def _private(deps: SlackDeps, payload: dict[str, Any], text: str) -> None:
    with slack_transient_as_retry():
        respond_privately(deps, payload, text)
