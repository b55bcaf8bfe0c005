"""A message to a bound model, answered in its thread as the model writes.

A mention at the top of a bound channel starts a thread on that message (Discord gives the
thread the message's id, so a redelivered mention finds the same thread); a message in a thread
that is a conversation continues it. The person's message is stored before the model is asked
and the reply after it has been shown, both keyed by Discord message ids: a task retried after
a crash finds the message already there, and a message already answered is not answered again.
"""

from __future__ import annotations

import logging
from typing import Any

import discord

from finetuning.conversations import Conversation, TalkError
from finetuning.tasks import ATTEMPT, RetryLaterError
from handlers.discord import calls
from handlers.discord.render.conversation import problem_text, reply_footer, thread_name
from handlers.discord.reply_targets import SILENT
from handlers.discord.talk_deps import TalkDeps

log = logging.getLogger(__name__)

RETRIES_BEFORE_GIVING_UP = 3
"""Rate-limited before the first word: try again later this many times, then say so."""
THREAD_ALREADY_CREATED = 160004


def talk_payload(
    *,
    workspace: str,
    channel: str,
    thread: str | None,
    message: str,
    user: str,
    text: str,
) -> dict[str, Any]:
    """`thread` None: a mention at the top of the channel, whose thread the task starts."""
    return {
        "workspace": workspace,
        "channel": channel,
        "thread": thread,
        "message": message,
        "user": user,
        "text": text,
    }


def run_talk(deps: TalkDeps, payload: dict[str, Any]) -> None:
    workspace, channel = payload["workspace"], payload["channel"]
    thread: str | None = payload["thread"]
    binding = deps.bindings.lookup(workspace, channel, thread)
    if binding is None and thread is not None:
        conversation = deps.conversations.find(workspace, channel, thread)
    else:
        conversation = None
    if binding is None and conversation is None:
        _reply(
            deps,
            payload,
            "❔ No model is bound here. Bind one with `/finetune use MODEL` (a fine-tuned id, "
            "a base model, or a job such as `job-3`), then mention me again.",
        )
        return
    if not payload["text"].strip():
        _reply(deps, payload, "👋 Mention me with a message and the bound model answers.")
        return
    if thread is None:
        thread = _start_thread(deps, payload)
    if binding is not None:
        conversation = deps.conversations.open(
            workspace, channel, thread, binding.model, binding.settings, by=payload["user"]
        )
    assert conversation is not None
    deps.conversations.add_user_turn(
        conversation.id, payload["message"], payload["text"], payload["user"]
    )
    answer_in_thread(deps, conversation, payload, payload["message"])


def answer_in_thread(
    deps: TalkDeps, conversation: Conversation, payload: dict[str, Any], message_id: str
) -> None:
    """Stream the answer to the stored message `message_id` into the conversation's thread and
    store it. Shared by mentions, thread replies and `/finetune ask`."""
    if deps.conversations.answered(conversation.id, message_id):
        return  # a redelivery, or a retry after the answer was stored
    history = deps.conversations.history(conversation.id, message_id)
    reply = deps.talk.answer(conversation, history)
    stream = deps.stream(conversation.thread_ts)
    try:
        for delta in reply:
            stream.append(delta)
    except TalkError as error:
        if error.retryable and not stream.started and _may_retry(payload):
            raise RetryLaterError(error.message) from error
        stream.fail(problem_text(error))
        return
    result = reply.result
    posted = stream.finish(reply_footer(result))
    deps.conversations.add_assistant_turn(
        conversation.id,
        message_id,
        result.text,
        posted[0] if posted else "",
        result.model,
        result.usage,
    )


def _start_thread(deps: TalkDeps, payload: dict[str, Any]) -> str:
    """The thread on the mention, created once: Discord refuses a second one (160004), and
    the thread has the message's id either way."""
    channel, message = str(payload["channel"]), str(payload["message"])

    async def create(client: discord.Client) -> str:
        place = await calls.channel(client, channel)
        try:
            thread = await place.get_partial_message(int(message)).create_thread(
                name=thread_name(payload["text"])
            )
        except discord.HTTPException as exc:
            if exc.code != THREAD_ALREADY_CREATED:
                raise
            return message
        return str(thread.id)

    created: str = deps.base.bridge.call(create)
    return created


def _may_retry(payload: dict[str, Any]) -> bool:
    return int(payload.get(ATTEMPT, 1)) < RETRIES_BEFORE_GIVING_UP


def _reply(deps: TalkDeps, payload: dict[str, Any], text: str) -> None:
    """A short answer to the person's message, where they wrote it, without a ping."""
    where = payload["thread"] or payload["channel"]
    message = int(payload["message"])

    async def send(client: discord.Client) -> None:
        place = await calls.channel(client, where)
        await place.send(
            text,
            reference=place.get_partial_message(message).to_reference(fail_if_not_exists=False),
            allowed_mentions=SILENT,
        )

    deps.base.bridge.call(send)
