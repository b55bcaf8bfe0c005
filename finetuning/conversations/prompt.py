"""What the model is sent: the conversation cut to fit its window, or a legacy prompt.

A thread can outgrow any context window. The oldest turns go first (the system prompt never
does), counted with the model's own tokenizer the way OpenAI's cookbook counts chat messages,
and room is kept for the reply, so the request is not refused for length. Legacy models are
not conversational: they are shown the newest message alone, shaped like their training data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from finetuning.conversations.errors import ContextTooLongError
from finetuning.conversations.profile import ModelProfile
from finetuning.conversations.settings import ReplySettings
from finetuning.datasets.counting import REPLY_PRIMING, TokenCounter
from finetuning.datasets.tokenizer import get_encoding
from finetuning.provider import ChatMessage

DEFAULT_REPLY_RESERVE = 1024
"""Tokens kept free for the reply when no max_tokens is set (a quarter of a smaller window)."""


class EmptyConversationError(ValueError):
    """There is no message from a person to answer."""


class Said(Protocol):
    """A message as the prompt needs it: a stored Turn, or a one-off question."""

    @property
    def role(self) -> str: ...

    @property
    def content(self) -> str: ...


@dataclass(frozen=True)
class Question:
    """A one-off message that is not stored (`ask`, `compare`)."""

    content: str
    role: str = "user"


@dataclass(frozen=True)
class ChatPrompt:
    """Messages to send, what they count, and how many older turns were left out."""

    messages: tuple[ChatMessage, ...]
    tokens: int
    reserve: int
    dropped: int


@dataclass(frozen=True)
class CompletionPrompt:
    """A legacy prompt with the stop sequence and reply length to send with it."""

    text: str
    stop: str | None
    tokens: int
    max_tokens: int


def reply_reserve(window: int, max_tokens: int | None) -> int:
    """Tokens kept for the reply: the max_tokens asked for, else a default that leaves a small
    window most of its room."""
    if max_tokens is not None:
        return max_tokens
    return min(DEFAULT_REPLY_RESERVE, window // 4)


def chat_prompt(
    profile: ModelProfile, settings: ReplySettings, history: Sequence[Said]
) -> ChatPrompt:
    """System prompt plus the newest turns that fit, ending with the newest person's message.

    Replies after that message are ignored (it is the one being answered). Raises
    ContextTooLongError when the system prompt and that message alone leave no room.
    """
    turns = _up_to_last_question(history)
    counter = TokenCounter(get_encoding(profile.encoding))
    window = profile.context_window
    reserve = reply_reserve(window, settings.max_tokens)
    budget = window - reserve

    def cost(message: ChatMessage) -> int:
        """Tokens one message adds: the cookbook's count of it alone, less the reply priming."""
        as_sent = {"role": message.role, "content": message.content}
        return counter.messages([as_sent]) - REPLY_PRIMING

    system = (
        [ChatMessage("system", settings.system_prompt)]
        if settings.system_prompt is not None
        else []
    )
    used = REPLY_PRIMING + sum(cost(message) for message in system)
    kept: list[ChatMessage] = []
    for turn in reversed(turns):
        message = ChatMessage("assistant" if turn.role == "assistant" else "user", turn.content)
        tokens = cost(message)
        if used + tokens > budget:
            if not kept:
                raise ContextTooLongError(needed=used + tokens, window=window, reserved=reserve)
            break
        kept.append(message)
        used += tokens
    kept.reverse()
    # A reply whose question was cut off would read as the model talking to itself.
    while kept and kept[0].role == "assistant":
        used -= cost(kept.pop(0))
    return ChatPrompt(tuple(system + kept), used, reserve, len(turns) - len(kept))


def completion_prompt(
    profile: ModelProfile, settings: ReplySettings, history: Sequence[Said]
) -> CompletionPrompt:
    """The newest person's message plus the training separator, with the training stop.

    The system prompt is not sent: a legacy model never saw one while training.
    """
    question = _up_to_last_question(history)[-1]
    text = question.content + profile.separator
    tokens = len(get_encoding(profile.encoding).encode_ordinary(text))
    window = profile.context_window
    max_tokens = reply_reserve(window, settings.max_tokens)
    if tokens + max_tokens > window:
        raise ContextTooLongError(needed=tokens, window=window, reserved=max_tokens)
    return CompletionPrompt(text, profile.stop, tokens, max_tokens)


def _up_to_last_question(history: Sequence[Said]) -> list[Said]:
    last = max((i for i, turn in enumerate(history) if turn.role == "user"), default=None)
    if last is None:
        raise EmptyConversationError("there is no message to answer")
    return list(history[: last + 1])
