"""A message to a bound model, answered in its thread as the model writes.

The person's message is stored before the model is asked and the reply after it has been
shown, both keyed by Slack's message ts: a task retried after a crash finds the message already
there, and a message already answered is never answered twice.
"""

from __future__ import annotations

from typing import Any

from finetuning.conversations import Conversation, TalkError
from finetuning.tasks import ATTEMPT, RetryLaterError
from handlers.slack.blocks.conversation import problem_text, reply_footer
from handlers.slack.deps import SlackDeps
from handlers.slack.tasks.slack_calls import slack_transient_as_retry

RETRIES_BEFORE_GIVING_UP = 3
"""Rate-limited before the first word: try again later this many times, then say so."""


def talk_payload(
    *, team: str, channel: str, user: str, ts: str, thread_ts: str, text: str
) -> dict[str, Any]:
    """`ts` is the person's message; `thread_ts` the conversation's thread (for a mention at
    the top of a channel, the mention itself, which the reply turns into a thread)."""
    return {
        "team": team,
        "channel": channel,
        "user": user,
        "ts": ts,
        "thread_ts": thread_ts,
        "text": text,
    }


def run_talk(deps: SlackDeps, payload: dict[str, Any]) -> None:
    team, channel, thread_ts = payload["team"], payload["channel"], payload["thread_ts"]
    conversation = _conversation(deps, team, channel, thread_ts, payload["user"])
    if conversation is None:
        _tell(
            deps,
            payload,
            ":grey_question: No model is bound here. Bind one with `/finetune use MODEL` "
            "(a fine-tuned id, a base model, or a job such as `job-3`), then mention me again.",
        )
        return
    if not payload["text"].strip():
        _tell(deps, payload, ":wave: Mention me with a message and the bound model answers.")
        return
    deps.conversations.add_user_turn(
        conversation.id, payload["ts"], payload["text"], payload["user"]
    )
    answer_in_thread(deps, conversation, payload, payload["ts"])


def answer_in_thread(
    deps: SlackDeps, conversation: Conversation, payload: dict[str, Any], message_ts: str
) -> None:
    """Stream the model's answer to the stored message `message_ts` into the conversation's
    thread, and store it. Shared by mentions, thread replies and `/finetune ask`."""
    if deps.conversations.answered(conversation.id, message_ts):
        return  # a redelivery or a retry after the answer was already stored
    history = deps.conversations.history(conversation.id, message_ts)
    reply = deps.talk.answer(conversation, history)
    stream = deps.streamer.open(
        channel=conversation.channel_id,
        thread_ts=conversation.thread_ts,
        team_id=conversation.workspace_id,
        user_id=payload["user"],
    )
    with slack_transient_as_retry():
        try:
            for delta in reply:
                stream.append(delta)
        except TalkError as error:
            if error.retryable and not stream.message_ts and _may_retry(payload):
                raise RetryLaterError(error.message) from error
            stream.fail(problem_text(error))
            return
        result = reply.result
        posted = stream.finish(footer=reply_footer(result))
    deps.conversations.add_assistant_turn(
        conversation.id,
        message_ts,
        result.text,
        posted[0] if posted else "",
        result.model,
        result.usage,
    )


def _conversation(
    deps: SlackDeps, team: str, channel: str, thread_ts: str, user: str
) -> Conversation | None:
    """The thread's conversation, following the binding that now applies to it (a thread
    binding, else the channel's); a thread already talking keeps its model if unbound since."""
    binding = deps.bindings.lookup(team, channel, thread_ts)
    if binding is not None:
        return deps.conversations.open(
            team, channel, thread_ts, binding.model, binding.settings, by=user
        )
    return deps.conversations.find(team, channel, thread_ts)


def _may_retry(payload: dict[str, Any]) -> bool:
    return int(payload.get(ATTEMPT, 1)) < RETRIES_BEFORE_GIVING_UP


def _tell(deps: SlackDeps, payload: dict[str, Any], text: str) -> None:
    """A note only the person sees, in the thread they wrote in."""
    with slack_transient_as_retry():
        deps.clients.for_team(payload["team"]).chat_postEphemeral(
            channel=payload["channel"],
            user=payload["user"],
            thread_ts=payload["thread_ts"],
            text=text,
        )
