"""`/finetune ask` and `/finetune compare` (and the **Compare with base** modal).

A public question is posted in the channel as the bot's message quoting the asker; the answer
streams into a thread on it, which is then a conversation like any other. A private one streams
the same way into ephemeral messages only the asker sees, through the interaction's webhook
(its first followup fills the "thinking…" answer, which is then edited as the model writes),
for as long as the interaction's token lasts; it never goes to the channel. A comparison is one
message with an embed per model, edited as both write, paced like a reply and sharing the
channel's edit allowance.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import discord

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
from handlers.discord import calls
from handlers.discord.render.conversation import (
    Column,
    compare_content,
    compare_embeds,
    problem_text,
    question_text,
    reply_footer,
    thread_name,
)
from handlers.discord.render.limits import MAX_CONTENT
from handlers.discord.reply_targets import EDIT, SILENT
from handlers.discord.talk_deps import TalkDeps
from handlers.discord.tasks.answers import tell
from handlers.discord.tasks.talk import answer_in_thread

log = logging.getLogger(__name__)

PRIVATE_PARTS = 3
"""A private answer is shown in at most this many ephemeral messages of 2,000 characters; the
last says where it was cut."""


def ask_payload(
    *,
    workspace: str,
    channel: str,
    thread: str | None,
    user: str,
    model: str | None,
    question: str,
    private: bool,
    interaction: dict[str, Any] | None,
) -> dict[str, Any]:
    return {
        "workspace": workspace,
        "channel": channel,
        "thread": thread,
        "user": user,
        "model": model,
        "question": question,
        "private": private,
        "interaction": interaction,
    }


def compare_payload(
    *,
    workspace: str,
    channel: str,
    thread: str | None,
    user: str,
    models: list[str],
    question: str,
    interaction: dict[str, Any] | None,
) -> dict[str, Any]:
    return {
        "workspace": workspace,
        "channel": channel,
        "thread": thread,
        "user": user,
        "models": models,
        "question": question,
        "interaction": interaction,
    }


def run_ask(deps: TalkDeps, payload: dict[str, Any]) -> None:
    workspace, channel, user = payload["workspace"], payload["channel"], payload["user"]
    question: str = payload["question"]
    settings = ReplySettings()
    ref = payload.get("model")
    if not ref:
        binding = deps.bindings.lookup(workspace, channel, payload.get("thread"))
        if binding is None:
            tell(
                deps.base,
                payload,
                "❔ No model is bound here: name one (`/finetune ask model:gpt-4o-mini …`), "
                "or bind one with `/finetune use MODEL`.",
            )
            return
        ref, settings = binding.model, binding.settings
    resolved = _resolve(deps, payload, [str(ref)])
    if resolved is None:
        return
    (model,) = resolved
    if payload["private"]:
        _answer_privately(deps, payload, model, settings, question)
        return
    root = deps.base.bridge.call(
        lambda c: calls.send(
            c, channel, content=question_text(user, model, question), allowed_mentions=SILENT
        )
    )
    thread = _thread_on(deps, channel, str(root.id), question)
    conversation = deps.conversations.open(workspace, channel, thread, model, settings, by=user)
    deps.conversations.add_user_turn(conversation.id, str(root.id), question, user)
    tell(deps.base, payload, f"💬 Asked `{model}`: the answer is in <#{thread}>.")
    answer_in_thread(deps, conversation, payload, str(root.id))


def _thread_on(deps: TalkDeps, channel: str, message: str, title: str) -> str:
    async def create(client: discord.Client) -> str:
        place = await calls.channel(client, channel)
        found = await place.get_partial_message(int(message)).create_thread(name=thread_name(title))
        return str(found.id)

    created: str = deps.base.bridge.call(create)
    return created


def _answer_privately(
    deps: TalkDeps, payload: dict[str, Any], model: str, settings: ReplySettings, question: str
) -> None:
    """Streamed like a public answer, but only the asker sees it; once the interaction's token
    is (nearly) gone it cannot be shown to them alone, so it is dropped, never put in the
    channel."""
    interaction: dict[str, Any] | None = payload.get("interaction")
    if interaction is None or not calls.token_alive(interaction):
        log.warning("a private answer was dropped: its interaction expired")
        return
    reply = deps.talk.reply(payload["workspace"], model, settings, [Question(question)])
    stream = deps.private_stream(interaction, PRIVATE_PARTS)
    try:
        for delta in reply:
            stream.append(delta)
    except TalkError as error:
        stream.fail(problem_text(error))
        return
    stream.finish(reply_footer(reply.result))


def run_compare(deps: TalkDeps, payload: dict[str, Any]) -> None:
    """Both models at once, in one message edited as they write."""
    models = _resolve(deps, payload, payload["models"])
    if models is None:
        return
    columns = [Column(model) for model in models]
    board = _Board(deps, payload, columns)
    board.post()
    tell(deps.base, payload, "⚖️ Comparing: both answers fill in below.")
    streams = [
        deps.talk.reply(
            payload["workspace"], model, ReplySettings(), [Question(payload["question"])]
        )
        for model in models
    ]
    with ThreadPoolExecutor(max_workers=len(streams), thread_name_prefix="compare") as pool:
        running = [
            pool.submit(_fill, stream, column, board.changed)
            for stream, column in zip(streams, columns, strict=True)
        ]
        while not all(future.done() for future in running):
            board.changed.wait(deps.update_seconds)
            board.changed.clear()
            board.refresh()
        for future in running:
            future.result()
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
    when the channel's edit bucket has room; the last edit always goes."""

    def __init__(self, deps: TalkDeps, payload: dict[str, Any], columns: list[Column]) -> None:
        self._deps = deps
        self._payload = payload
        self._columns = columns
        self._where = str(payload.get("thread") or payload["channel"])
        self.changed = threading.Event()
        self._message: str | None = None
        self._last = 0.0
        self._shown = ""

    def post(self) -> None:
        content = compare_content(self._payload["user"], self._payload["question"])
        embeds = compare_embeds(self._columns)
        posted = self._deps.base.bridge.call(
            lambda c: calls.send(
                c, self._where, content=content, embeds=embeds, allowed_mentions=SILENT
            )
        )
        self._message = str(posted.id)
        self._deps.edits.reserve(self._where, EDIT)

    def refresh(self, *, final: bool = False) -> None:
        message = self._message
        if message is None:
            return
        if not final and time.monotonic() - self._last < self._deps.update_seconds:
            return
        embeds = compare_embeds(self._columns)
        shown = repr([e.to_dict() for e in embeds])
        if shown == self._shown and not final:
            return
        if not self._deps.edits.take(self._where, EDIT, force=final):
            return
        try:
            self._deps.base.bridge.call(
                lambda c: calls.edit(
                    c, self._where, message, embeds=embeds, allowed_mentions=SILENT
                )
            )
        except RetryLaterError:
            if final:
                raise
            return
        self._shown, self._last = shown, time.monotonic()

    def post_in_thread(self, column: Column) -> None:
        """A long answer in full, in a thread on the comparison, cut at 2,000 characters."""
        assert self._message is not None
        where = self._payload.get("thread") or _thread_on(
            self._deps, self._payload["channel"], self._message, self._payload["question"]
        )
        for part in split_text(f"**{column.model}**\n{column.text}", MAX_CONTENT):
            self._send(str(where), part)

    def _send(self, where: str, text: str) -> None:
        self._deps.base.bridge.call(
            lambda c: calls.send(c, where, content=text, allowed_mentions=SILENT)
        )


def _resolve(deps: TalkDeps, payload: dict[str, Any], refs: list[str]) -> list[str] | None:
    """The model ids the references stand for; None (the asker was told why) if one does not."""
    try:
        return [deps.resolver.resolve_model(payload["workspace"], ref) for ref in refs]
    except (ModelRefError, ProviderError) as error:
        problem = talk_error(error, " ".join(refs))
        if problem is None or problem.retryable:
            raise RetryLaterError(str(error)) from error
        tell(deps.base, payload, problem_text(problem))
        return None
